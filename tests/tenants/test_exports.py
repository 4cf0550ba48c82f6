"""Tenant exports (tenants/exports.py): what an archive holds, what it never holds, the job's life.

Most tests build the archive in this process (``build_export``, the function the worker's task
calls) inside the test's transaction; the worker tests run the real job in a Celery worker
subprocess, with the ready email going through the outbox to the fake provider.
"""

import hashlib
import io
import json
import shutil
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tenants.utils import tenant_context
from knox.models import AuthToken

from tenant_apps.accounts import emails, invitations
from tenant_apps.accounts.roles import Role
from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.projects import services as projects
from tenants import exports
from tenants.models import Tenant, TenantExport
from tests.worker import wait_until

Status = TenantExport.Status


@pytest.fixture(autouse=True)
def no_archives_left():
    """Archives are files: a rolled-back test's rows go, its files are removed here."""
    yield
    shutil.rmtree(Path(settings.MEDIA_ROOT) / "exports", ignore_errors=True)


def archive_files(tenant) -> list[str]:
    folder = Path(settings.MEDIA_ROOT) / "exports" / tenant.schema_name
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def read_archive(export) -> dict[str, bytes]:
    with storages["exports"].open(export.file, "rb") as handle:
        with zipfile.ZipFile(io.BytesIO(handle.read())) as zf:
            return {name: zf.read(name) for name in zf.namelist()}


def everything(members: dict[str, bytes]) -> bytes:
    """Every byte of the archive's contents, uncompressed, for searching."""
    return b"\n".join(members.values())


def rows_of(members, label: str) -> list[dict]:
    return json.loads(members[f"data/{label}.json"])


def export_now(tenant, via=TenantExport.Via.OPERATOR, email="ops@platform.test", progress=None):
    export = exports.request_export(tenant, email, via)
    return exports.build_export(export.pk, progress=progress)


@pytest.fixture
def acme_data(tenant, owner, member):
    with tenant_context(tenant):
        project = projects.create_project(owner, name="Acme rocket sled", description="acme-only-description")
        task = projects.create_task(owner, project, title="Paint the sled acme-red", assignee=member)
        projects.add_comment(member, task, "acme-comment-body")
    return {"project": project, "task": task}


@pytest.fixture
def globex_data(other_tenant, stranger):
    with tenant_context(other_tenant):
        project = projects.create_project(
            stranger, name="Globex doomsday device", description="globex-secret-plan"
        )
        projects.create_task(stranger, project, title="globex-only-task-title")
    return {
        "values": [
            b"Globex doomsday device",
            b"globex-secret-plan",
            b"globex-only-task-title",
            b"@globex.test",
        ]
    }


# --- What an archive holds ---------------------------------------------------------------------


def test_an_export_holds_the_tenants_projects_tasks_and_users(tenant, owner, member, acme_data):
    export = export_now(tenant)

    assert export.status == Status.READY and export.progress == 100
    assert export.file == f"exports/{tenant.schema_name}/{export.public_id}.zip"
    members = read_archive(export)
    (project,) = [
        p
        for p in rows_of(members, "projects.project")
        if p["public_id"] == str(acme_data["project"].public_id)
    ]
    assert project["name"] == "Acme rocket sled" and project["description"] == "acme-only-description"
    (task,) = rows_of(members, "projects.task")
    assert task["title"] == "Paint the sled acme-red"
    assert task["project_id"] == acme_data["project"].pk and task["assignee_id"] == member.pk
    assert rows_of(members, "projects.comment")[0]["body"] == "acme-comment-body"
    users = {user["email"]: user for user in rows_of(members, "accounts.user")}
    assert {"owner@acme.test", "member@acme.test"} <= set(users)
    assert users["member@acme.test"]["full_name"] == "Mo Member"
    # Roles travel as the users' groups.
    groups = {g["id"]: g["name"] for g in rows_of(members, "auth.group")}
    member_groups = [
        groups[row["group_id"]]
        for row in rows_of(members, "accounts.user_groups")
        if row["user_id"] == member.pk
    ]
    assert member_groups == [Role.MEMBER]


def test_the_manifest_counts_and_hashes_match_the_files(tenant, acme_data):
    export = export_now(tenant)

    members = read_archive(export)
    manifest = json.loads(members["manifest.json"])
    assert manifest["format"] == "tenant-export" and manifest["format_version"] == 1
    assert manifest["tenant"] == {"slug": "acme", "name": "Acme"}
    assert manifest["export_id"] == str(export.public_id)
    listed = {entry["name"]: entry for entry in manifest["files"]}
    assert set(listed) == set(members) - {"manifest.json"}
    for name, entry in listed.items():
        assert hashlib.sha256(members[name]).hexdigest() == entry["sha256"], name
        assert len(json.loads(members[name])) == entry["rows"], name
        assert len(members[name]) == entry["bytes"], name
    assert listed["data/projects.task.json"] == {
        **listed["data/projects.task.json"],
        "model": "projects.Task",
        "rows": 1,
    }
    assert manifest["left_out"]["knox.AuthToken"] == "__all__"
    assert manifest["left_out"]["accounts.User"] == ["password"]


def test_an_export_holds_nothing_of_another_tenant(tenant, other_tenant, acme_data, globex_data):
    export = export_now(tenant)

    found = everything(read_archive(export))
    assert b"acme-only-description" in found  # the search finds what is there
    for value in globex_data["values"]:
        assert value not in found, value
    # And the other way round: globex's archive has none of acme's.
    theirs = everything(read_archive(export_now(other_tenant)))
    assert b"globex-secret-plan" in theirs
    assert b"acme-only-description" not in theirs and b"@acme.test" not in theirs


SUBJECT_OF_RESET = b"Reset your Acme password"


def test_an_export_holds_no_password_hash_token_or_one_time_link(tenant, owner, make_role_user):
    user = make_role_user("secretive@acme.test", Role.MEMBER, password="a-real-password-1234")
    reset_link = "http://acme.localhost:8000/accounts/reset/Mw/export-reset-token-9f8e7d6c5b4a/"
    with tenant_context(tenant):
        token_instance, token = AuthToken.objects.create(user=user)
        invitation = invitations.invite(owner, "invitee@acme.test", Role.MEMBER)
        emails.password_reset(user, reset_link)
        secret_values = [v for row in OutboxMessage.objects.all() for v in row.secret_values.values()]
    assert len(secret_values) >= 2  # the invitation's link and the reset link

    found = everything(read_archive(export_now(tenant)))

    # The rows are there (the user, the reset email), their secrets are not.
    assert b"secretive@acme.test" in found and SUBJECT_OF_RESET in found
    forbidden = {
        "password hash": user.password,
        "token": token,
        "token digest": token_instance.digest,
        "token key": token_instance.token_key,
        "invitation token hash": invitation.token_hash,
        "reset link": reset_link,
        **{f"outbox secret {i}": value for i, value in enumerate(secret_values)},
    }
    leaks = [name for name, value in forbidden.items() if value.encode() in found]
    assert not leaks
    assert b"sessions.session" not in found and b"data/knox" not in found


def test_the_outbox_rows_are_exported_with_their_placeholders_only(tenant, owner):
    with tenant_context(tenant):
        invitations.invite(owner, "placeholder@acme.test", Role.MEMBER)

    members = read_archive(export_now(tenant))

    (message,) = [m for m in rows_of(members, "outbox.outboxmessage") if m["to"] == ["placeholder@acme.test"]]
    assert "[[secret:link:" in message["body_text"] and "secret_values" not in message


# --- The rule against secrets ---------------------------------------------------------------------

# Broader than any one list: a field whose name says it may hold a credential.
SECRET_WORDS = (
    "password",
    "passwd",
    "token",
    "digest",
    "salt",
    "secret",
    "key",
    "session",
    "hash",
    "credential",
)


def test_every_secret_looking_field_of_every_tenant_model_is_left_out_or_reviewed():
    excluded = {label.lower(): rule for label, rule in settings.TENANT_EXPORT_EXCLUDE.items()}
    safe = {name.lower() for name in settings.TENANT_EXPORT_REVIEWED_SAFE}
    unreviewed = []
    models = exports.tenant_models()
    assert {"accounts.user", "projects.task", "outbox.outboxmessage", "knox.authtoken"} <= {
        m._meta.label_lower for m in models
    }
    for model in models:
        label = model._meta.label_lower
        for field in model._meta.concrete_fields:
            if not any(word in field.name.lower() for word in SECRET_WORDS):
                continue
            if excluded.get(label) == "__all__" or field.name in (excluded.get(label) or ()):
                continue
            if f"{label}.{field.name}" not in safe:
                unreviewed.append(f"{label}.{field.name}")
    assert not unreviewed, f"secret-looking fields exported without review: {unreviewed}"
    # And the service agrees: planning the export raises for none of them.
    assert exports.export_plan()


def test_an_unreviewed_secret_looking_column_stops_the_export(tenant, settings):
    settings.TENANT_EXPORT_REVIEWED_SAFE = ["projects.NotificationPreferences.digest"]

    export = export_now(tenant)

    assert export.status == Status.FAILED
    assert "OutboxMessage.dedup_key looks secret" in export.error
    assert archive_files(tenant) == []


def test_the_secret_name_rule_recognises_credentials():
    for name in (
        "password",
        "api_key",
        "token_hash",
        "digest",
        "salt",
        "client_secret",
        "session_data",
        "key",
    ):
        assert exports.looks_secret(name), name
    for name in ("email", "title", "monkey_business", "keyboard", "status"):
        assert not exports.looks_secret(name), name


# --- The job's life ---------------------------------------------------------------------------------


def test_a_second_export_while_one_is_under_way_is_refused(tenant):
    first = exports.request_export(tenant, "ops@platform.test", TenantExport.Via.OPERATOR)
    with pytest.raises(ValidationError, match="already under way"):
        exports.request_export(tenant, "owner@acme.test", TenantExport.Via.OWNER)
    TenantExport.objects.filter(pk=first.pk).update(status=Status.RUNNING)
    with pytest.raises(ValidationError, match="already under way"):
        exports.request_export(tenant, "owner@acme.test", TenantExport.Via.OWNER)
    TenantExport.objects.filter(pk=first.pk).update(status=Status.FAILED)
    assert exports.request_export(tenant, "owner@acme.test", TenantExport.Via.OWNER).status == Status.PENDING


def test_another_tenants_export_under_way_does_not_block_this_one(tenant, other_tenant):
    exports.request_export(other_tenant, "ops@platform.test", TenantExport.Via.OPERATOR)
    assert exports.request_export(tenant, "ops@platform.test", TenantExport.Via.OPERATOR).tenant == tenant


def test_a_deleted_tenant_is_not_exported(tenant):
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.DELETED)
    with pytest.raises(ValidationError, match="deleted"):
        exports.request_export(tenant, "ops@platform.test", TenantExport.Via.OPERATOR)
    assert not TenantExport.objects.filter(tenant=tenant).exists()


def test_a_build_runs_once_however_often_it_is_delivered(tenant):
    export = exports.request_export(tenant, "ops@platform.test", TenantExport.Via.OPERATOR)
    assert exports.build_export(export.pk).status == Status.READY
    finished_at = TenantExport.objects.get(pk=export.pk).finished_at

    assert exports.build_export(export.pk) is None  # redelivered: the claim fails, nothing happens
    assert TenantExport.objects.get(pk=export.pk).finished_at == finished_at
    assert archive_files(tenant) == [f"{export.public_id}.zip"]


def test_progress_is_reported_as_rows_are_written(tenant, acme_data):
    calls = []
    export = export_now(tenant, progress=lambda done, total: calls.append((done, total)))

    assert export.status == Status.READY
    assert len(calls) > 3 and calls[-1] == (1, 1)
    dones = [done for done, _ in calls[:-1]]
    assert dones == sorted(dones) and calls[-2][0] == calls[-2][1]


class Boom(Exception):
    pass


def _fail_at(call_number):
    calls = []

    def progress(done, total):
        calls.append(done)
        if len(calls) == call_number:
            raise Boom("disk on fire")

    return progress


def test_a_failure_mid_way_leaves_a_failed_row_and_no_file(tenant, acme_data):
    export = export_now(tenant, progress=_fail_at(3))

    assert export.status == Status.FAILED and export.file == ""
    assert export.error == "The export failed: Boom" and export.finished_at is not None
    assert archive_files(tenant) == []


def test_a_failure_after_the_archive_was_stored_removes_it(tenant, acme_data):
    stored = []

    def progress(done, total):
        if (done, total) == (1, 1):  # the archive is in the storage by now
            stored.extend(archive_files(tenant))
            raise Boom("lost the row")

    export = export_now(tenant, progress=progress)

    assert stored == [f"{export.public_id}.zip"]
    assert export.status == Status.FAILED and archive_files(tenant) == []


def test_expiry_deletes_the_archive_and_marks_the_export_expired(tenant):
    export = export_now(tenant)
    kept = export_now(tenant)
    assert export.expires_at - export.finished_at == timedelta(days=settings.TENANT_EXPORT_KEEP_DAYS)
    TenantExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert exports.expire_exports() == 1

    export.refresh_from_db()
    assert export.status == Status.EXPIRED and export.file == ""
    assert archive_files(tenant) == [f"{kept.public_id}.zip"]
    with pytest.raises(TenantExport.DoesNotExist):
        exports.open_archive(export)


def test_a_stalled_export_is_enqueued_again_or_marked_failed(tenant, other_tenant, monkeypatch):
    sent = []
    monkeypatch.setattr(exports, "enqueue_build", lambda pk, schema: sent.append((pk, schema)) or True)
    waiting = exports.request_export(tenant, "ops@platform.test", TenantExport.Via.OPERATOR)
    dead = exports.request_export(other_tenant, "ops@platform.test", TenantExport.Via.OPERATOR)
    long_ago = timezone.now() - timedelta(seconds=settings.TENANT_EXPORT_TIME_LIMIT + 120)
    TenantExport.objects.filter(pk=waiting.pk).update(created_at=long_ago)
    TenantExport.objects.filter(pk=dead.pk).update(status=Status.RUNNING, started_at=long_ago)

    assert exports.recover_stalled_exports() == (1, 1)

    assert sent == [(waiting.pk, tenant.schema_name)]
    dead.refresh_from_db()
    assert dead.status == Status.FAILED and "interrupted" in dead.error


def test_deleting_an_export_row_deletes_its_archive(tenant, django_capture_on_commit_callbacks):
    export = export_now(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        export.delete()
    assert archive_files(tenant) == []


# --- The command ----------------------------------------------------------------------------------


def test_the_command_refuses_an_unknown_slug_with_a_clear_error(db):
    with pytest.raises(CommandError, match="no tenant with slug 'nosuch'"):
        call_command("export_tenant", "nosuch")


def test_the_command_refuses_a_second_export_under_way(tenant):
    exports.request_export(tenant, "ops@platform.test", TenantExport.Via.OPERATOR)
    with pytest.raises(CommandError, match="already under way"):
        call_command("export_tenant", "acme", stdout=io.StringIO())


# --- In a real worker -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_job_runs_in_a_worker_and_the_owner_is_emailed_a_sign_in_link(
    tenant, owner, clean_outbox, email_settings, fake_postmark, celery_worker
):
    export = exports.request_export(tenant, owner.email, TenantExport.Via.OWNER)

    wait_until(lambda: TenantExport.objects.get(pk=export.pk).status in (Status.READY, Status.FAILED), 60)
    export.refresh_from_db()
    assert export.status == Status.READY, export.error
    assert archive_files(tenant) == [f"{export.public_id}.zip"]
    (email,) = wait_until(
        lambda: [
            s for s in fake_postmark.accepted() if s.data.get("Subject") == "Your export of Acme is ready"
        ],
        30,
    )
    assert email.data["To"] == owner.email
    assert "http://acme.localhost:8000/admin/export/" in email.data["TextBody"]
    with tenant_context(tenant):
        assert OutboxMessage.objects.filter(to=[owner.email], template="accounts/export_ready").exists()


@pytest.mark.django_db(transaction=True)
def test_the_command_waits_for_the_worker_with_a_progress_bar(
    tenant, clean_outbox, email_settings, celery_worker
):
    out = io.StringIO()

    call_command("export_tenant", "acme", "--wait", "--email", "ops@platform.test", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Export ") and "of acme started" in lines[0]
    assert any(line.startswith("[") and line.endswith("100/100 %") for line in lines)
    assert lines[-1].startswith("Ready: ") and lines[-1].endswith(" UTC")
    export = TenantExport.objects.get(tenant=tenant)
    assert export.status == Status.READY and export.requested_by == "ops@platform.test"
    assert export.public_id.hex in lines[-1].replace("-", "")
