"""Every query and mutation of the schema, with who may run it: the GraphQL role matrix.

``OPERATIONS`` maps a root field to an operation that uses it, its variables (from the sample rows
of tests/graphql/conftest.py) and the personas it answers; a signed-in persona of acme outside that
set gets FORBIDDEN, no credentials or another tenant's token a 401. The rules are the REST API's
(tests/security/test_role_matrix.py TENANT_API): every role reads the projects and the directory
and edits tasks; owners and admins archive and delete projects, delete others' tasks, manage users
and invitations; ``me`` answers any account of the workspace, a role or not. tests/graphql and the
security suite's role matrix both read this table; ``test_every_root_field_is_in_the_matrix``
fails when a field is added to the schema without a row here.
"""

from collections.abc import Callable
from dataclasses import dataclass

MANAGERS = frozenset({"owner", "admin"})
ROLES = MANAGERS | {"member"}
SIGNED_IN = ROLES | {"nobody"}
PERSONAS = ("owner", "admin", "member", "nobody", "outsider", "other tenant")


@dataclass(frozen=True)
class Op:
    document: str
    variables: Callable[[dict], dict]
    allowed: frozenset
    # What the owner gets for another tenant's ids: NOT_FOUND as REST's 404, or BAD_USER_INPUT where
    # REST answers 400 (an id inside the input, checked by the serializer).
    foreign: str | None = "NOT_FOUND"


def _id(kind):
    return lambda rows: {"id": rows[kind]}


OPERATIONS = {
    "me": Op("{ me { id email role } }", lambda rows: {}, SIGNED_IN, foreign=None),
    "users": Op(
        "{ users(first: 10) { totalCount edges { node { id email role } } } }", lambda r: {}, ROLES, None
    ),
    "user": Op("query($id: UUID!) { user(id: $id) { id email role isActive } }", _id("user"), ROLES),
    "invitations": Op(
        "{ invitations(first: 10) { edges { node { id email role status invitedBy } } } }",
        lambda rows: {},
        MANAGERS,
        None,
    ),
    "projects": Op("{ projects(first: 10) { edges { node { id name } } } }", lambda r: {}, ROLES, None),
    "project": Op(
        "query($id: UUID!) { project(id: $id) { id name createdBy { email } } }", _id("project"), ROLES
    ),
    "tasks": Op(
        "{ tasks(first: 10) { edges { node { id title commentCount project { name } } } } }",
        lambda rows: {},
        ROLES,
        None,
    ),
    "task": Op(
        "query($id: UUID!) { task(id: $id) { id title status comments { edges { node { body } } } } }",
        _id("task"),
        ROLES,
    ),
    "createProject": Op(
        'mutation { createProject(input: {name: "New"}) { id name } }', lambda rows: {}, ROLES, None
    ),
    "updateProject": Op(
        'mutation($id: UUID!) { updateProject(id: $id, input: {name: "Renamed"}) { id name } }',
        _id("project"),
        ROLES,
    ),
    "archiveProject": Op(
        "mutation($id: UUID!) { archiveProject(id: $id, archived: true) { id archived } }",
        _id("project"),
        MANAGERS,
    ),
    "deleteProject": Op("mutation($id: UUID!) { deleteProject(id: $id) { id } }", _id("project"), MANAGERS),
    "createTask": Op(
        'mutation($p: UUID!) { createTask(input: {project: $p, title: "New"}) { id title } }',
        lambda rows: {"p": rows["project"]},
        ROLES,
        foreign="BAD_USER_INPUT",
    ),
    "updateTask": Op(
        "mutation($id: UUID!) { updateTask(id: $id, input: {status: DONE}) { id status } }",
        _id("task"),
        ROLES,
    ),
    # The sample task is the owner's: others' tasks are deleted by owners and admins.
    "deleteTask": Op("mutation($id: UUID!) { deleteTask(id: $id) { id } }", _id("task"), MANAGERS),
    "addComment": Op(
        'mutation($t: UUID!) { addComment(task: $t, body: "Agreed") { id body author { email } } }',
        lambda rows: {"t": rows["task"]},
        ROLES,
    ),
    "setRole": Op(
        "mutation($id: UUID!) { setRole(id: $id, role: ADMIN) { id role } }", _id("user"), MANAGERS
    ),
    "deactivateUser": Op(
        "mutation($id: UUID!) { deactivateUser(id: $id) { id isActive } }", _id("user"), MANAGERS
    ),
    # The sample user is active: reactivating answers them unchanged.
    "reactivateUser": Op(
        "mutation($id: UUID!) { reactivateUser(id: $id) { id isActive } }", _id("user"), MANAGERS
    ),
    "inviteUser": Op(
        'mutation { inviteUser(email: "new@graphql.test") { id email status } }', lambda r: {}, MANAGERS, None
    ),
    "resendInvitation": Op(
        "mutation($id: UUID!) { resendInvitation(id: $id) { id status } }", _id("invitation"), MANAGERS
    ),
    "revokeInvitation": Op(
        "mutation($id: UUID!) { revokeInvitation(id: $id) { id status } }", _id("invitation"), MANAGERS
    ),
}
