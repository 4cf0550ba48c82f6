"""One form markup everywhere (issue 14): every form page of a workspace and of the root domain
renders its fields through the "platform" crispy pack (tenant_apps/accounts/templates/platform/),
so each visible field has a <label for>, its errors sit in its own wrapper and are named by its
aria-describedby, and errors of no field come first with role="alert". The pages are walked
blank and with errors; a last test checks no template writes field markup by hand."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from django import forms
from django.conf import settings
from django.template import Context, Template
from django_tenants.utils import tenant_context

from tenant_apps.accounts import emails, invitations
from tests.accounts.test_two_factor import CODE_STEP, MANAGE, add_device, code_of, sign_in, wrong_code
from tests.clients import host_client
from tests.factories import ProjectFactory, TaskFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent

# Controls a person fills in; hidden inputs and buttons need no label.
UNLABELLED_TYPES = {"hidden", "submit", "button", "reset"}


def markup_problems(html: str) -> list[str]:
    """What breaks the pack's contract on a page (platform/whole_uni_form.html lists it)."""
    soup = BeautifulSoup(html, "html.parser")
    problems = []
    for control in soup.select("form input, form select, form textarea"):
        if control.name == "input" and control.get("type", "text") in UNLABELLED_TYPES:
            continue
        name, control_id = control.get("name"), control.get("id")
        if not control_id or not soup.find("label", attrs={"for": control_id}):
            problems.append(f"{name}: no <label for> of its own")
            continue
        wrapper = control.find_parent("div", class_="field")
        if wrapper is None:
            problems.append(f"{name}: not inside a field wrapper")
            continue
        described = control.get("aria-describedby", "").split()
        fieldset = control.find_parent("fieldset")
        if fieldset is not None and wrapper in fieldset.parents:  # radios: the group is described
            described = fieldset.get("aria-describedby", "").split()
        for errors in wrapper.find_all("ul", class_="errorlist", recursive=False):
            if errors.get("id") not in described:
                problems.append(
                    f"{name}: its errors {errors.get('id')} are not in aria-describedby {described}"
                )
        if wrapper.find("ul", class_="errorlist", recursive=False) and fieldset is None:
            if control.get("aria-invalid") != "true":
                problems.append(f"{name}: has errors but no aria-invalid")
        for ref in described:
            if soup.find(id=ref) is None:
                problems.append(f"{name}: aria-describedby names {ref}, which is not on the page")
    for errors in soup.find_all("ul", class_="errorlist"):
        if "nonfield" in errors.get("class", []):
            if errors.get("role") != "alert":
                problems.append(f"errors of no field without role=alert: {errors.get_text(' ', strip=True)}")
        elif errors.find_parent("div", class_="field") is None:
            problems.append(f"field errors outside their field's wrapper: {errors.get_text(' ', strip=True)}")
    return problems


def field_errors(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [ul["id"] for ul in soup.select("div.field > ul.errorlist[id]")]


def check(response, *, errors: bool) -> None:
    assert response.status_code in (200, 400), (response.status_code, response.get("Location"))
    html = response.content.decode()
    assert "<form" in html
    assert markup_problems(html) == []
    if errors:
        assert field_errors(html) or 'class="errorlist nonfield"' in html, "the walk meant to show an error"


# --- A workspace's pages --------------------------------------------------------------------------


@pytest.fixture
def work(tenant, owner, member):
    with tenant_context(tenant):
        project = ProjectFactory(created_by=owner)
        task = TaskFactory(project=project, created_by=owner, assignee=member)
    return project, task


def test_every_form_page_of_a_workspace_labels_each_field_and_keeps_its_errors_beside_it(
    tenant, owner, member, web, work, monkeypatch
):
    project, task = work
    anonymous, signed_in = web(None), web(owner)
    pages = [
        (anonymous.get("/accounts/sign-in/"), False),
        (anonymous.post("/accounts/sign-in/", {"username": owner.email, "password": "wrong"}), True),
        (anonymous.post("/accounts/sign-in/", {"username": "", "password": ""}), True),
        (anonymous.get("/accounts/password-reset/"), False),
        (anonymous.post("/accounts/password-reset/", {"email": "not an address"}), True),
        (signed_in.get("/accounts/password/"), False),
        (signed_in.post("/accounts/password/", {"old_password": "wrong"}), True),
        (signed_in.get("/account/"), False),
        (signed_in.post("/account/", {"full_name": ""}), True),
        (signed_in.get("/team/"), False),
        (signed_in.post("/team/invite/", {"email": "not an address", "role": "member"}), True),
        (signed_in.post("/team/invite/", {"email": "ok@acme.test", "role": "emperor"}), True),
        (signed_in.post(f"/team/users/{member.public_id}/role/", {"role": "emperor"}), True),
        (signed_in.get("/projects/new/"), False),
        (signed_in.post("/projects/new/", {"name": ""}), True),
        (signed_in.post(f"/projects/{project.public_id}/edit/", {"name": "x" * 121}), True),
        (signed_in.get(f"/projects/{project.public_id}/?status=doing"), False),
        (signed_in.post(f"/projects/{project.public_id}/tasks/new/", {"title": ""}), True),
        (signed_in.post(f"/tasks/{task.public_id}/edit/", {"title": "t", "due_date": "someday"}), True),
        (signed_in.get(f"/tasks/{task.public_id}/"), False),
        (signed_in.post(f"/tasks/{task.public_id}/", {"body": ""}), True),
        (signed_in.get("/settings/notifications/"), False),
    ]

    # Two-factor: setting it up (with a wrong first code), the code step of a sign-in, turning it off.
    pages.append((signed_in.post(f"{MANAGE}enable/"), False))
    pages.append((signed_in.post(f"{MANAGE}confirm/", {"code": "000000x"}), True))
    device = add_device(tenant, member)
    with_code = host_client(tenant.primary_host)
    sign_in(with_code, member.email)
    pages.append((with_code.get(CODE_STEP), False))
    pages.append((with_code.post(CODE_STEP, {"code": wrong_code(device)}), True))
    with_code.post(CODE_STEP, {"code": code_of(device)})  # throttled after a failure: may stay out
    second = host_client(tenant.primary_host)
    sign_in(second, member.email)
    with tenant_context(tenant):
        device.refresh_from_db()
        device.throttling_failure_count, device.throttling_failure_timestamp = 0, None
        device.save(update_fields=["throttling_failure_count", "throttling_failure_timestamp"])
    second.post(CODE_STEP, {"code": code_of(device)})
    manage = second.get(MANAGE)
    assert 'name="password"' in manage.content.decode(), "the disable form is on the page"
    pages.append((manage, False))
    pages.append((second.post(f"{MANAGE}disable/", {"code": "", "password": "wrong"}), True))

    # A link to choose a password, and an invitation to accept.
    with tenant_context(tenant):
        member.refresh_from_db()  # signed in above: the link is made of the account's state now
        link = urlsplit(emails.set_password_link(member)).path
    choose = host_client(tenant.primary_host)
    form_page = choose.get(link, follow=True)
    pages.append((form_page, False))
    pages.append(
        (choose.post(form_page.redirect_chain[-1][0], {"new_password1": "a", "new_password2": "b"}), True)
    )
    sent = []
    monkeypatch.setattr(invitations, "_send", lambda invitation, raw: sent.append(raw))
    with tenant_context(tenant):
        invitations.invite(owner, "new.person@example.test", "member")
    accept = urlsplit(invitations.accept_url(sent[0])).path
    pages.append((anonymous.get(accept), False))
    pages.append((anonymous.post(accept, {"full_name": "", "password1": "a", "password2": "b"}), True))

    for response, errors in pages:
        check(response, errors=errors)


def test_a_field_error_on_a_workspace_page_is_in_its_wrapper_and_named_by_its_input(web, owner):
    html = web(owner).post("/projects/new/", {"name": ""}).content.decode()
    soup = BeautifulSoup(html, "html.parser")
    name = soup.find("input", attrs={"name": "name"})
    wrapper = soup.find(id="div_id_name")
    assert name.find_parent("div", class_="field") is wrapper
    assert name["aria-invalid"] == "true" and "id_name_error" in name["aria-describedby"].split()
    assert wrapper.find(id="id_name_error").get_text(strip=True) == "This field is required."
    assert str(soup.find("label", attrs={"for": "id_name"})) == '<label for="id_name">Name</label>'


# --- The root domain's pages ----------------------------------------------------------------------


def test_every_form_page_of_the_root_domain_labels_each_field_and_keeps_its_errors_beside_it(
    root_client, settings
):
    settings.SIGNUP_ENABLED = True
    pages = [
        (root_client.get("/signup/"), False),
        (root_client.post("/signup/", {"slug": "Not A Slug!", "email": "nope"}), True),
        (root_client.get("/workspace/sign-in/?slug=no+such+place"), True),
        (root_client.post("/workspace/find/", {"email": "not an address"}), True),
    ]
    for response, errors in pages:
        check(response, errors=errors)


@pytest.mark.urls(settings.PUBLIC_SCHEMA_URLCONF)
def test_the_root_forms_render_whole_with_their_action_and_button_wherever_they_are_embedded(db):
    """The Wagtail home embeds them with ``{% crispy form %}`` alone: the helper carries the rest."""
    from shared_apps.signup.forms import SignupForm
    from shared_apps.workspace_finder.forms import FindWorkspaceForm, WorkspaceAddressForm

    def render(form):
        return BeautifulSoup(
            Template("{% load crispy_forms_tags %}{% crispy form %}").render(Context({"form": form})),
            "html.parser",
        )

    address = render(WorkspaceAddressForm()).form
    assert address["method"] == "get" and address["action"] == "/workspace/sign-in/"
    assert address.find("div", class_="affixed").span.get_text() == f".{settings.BASE_DOMAIN}"
    assert address.button.get_text() == "Continue" and not address.button.has_attr("name")
    find = render(FindWorkspaceForm()).form
    assert find["method"] == "post" and find["action"] == "/workspace/find/"
    assert find.button.get_text() == "Email me my workspaces"
    signup = render(SignupForm()).form
    assert signup["action"] == "/signup/" and signup.find(id="slug-status")["role"] == "status"
    assert signup.find("input", attrs={"name": "slug"})["data-check-url"] == "/signup/check-slug/"
    assert signup.button.get_text() == "Create workspace"


# --- The pack itself ------------------------------------------------------------------------------


class _EveryKind(forms.Form):
    name = forms.CharField(max_length=3, help_text="Three letters at most.")
    agree = forms.BooleanField()
    colour = forms.ChoiceField(choices=[("red", "Red"), ("blue", "Blue")], widget=forms.RadioSelect)
    token = forms.CharField(widget=forms.HiddenInput)

    def clean(self):
        raise forms.ValidationError("The whole form is refused.")


def test_the_pack_gives_every_kind_of_field_a_label_and_its_errors_and_lifts_hidden_errors_to_the_top():
    form = _EveryKind({"name": "toolong"})
    html = Template("{% load crispy_forms_tags %}<form>{{ form|crispy }}</form>").render(
        Context({"form": form})
    )
    assert markup_problems(html) == []
    soup = BeautifulSoup(html, "html.parser")
    name = soup.find(id="id_name")
    assert name["aria-describedby"].split() == ["id_name_helptext", "id_name_error"]
    assert soup.find(id="id_name_helptext").get_text() == "Three letters at most."
    assert soup.find("label", attrs={"for": "id_agree"}).find("input", attrs={"type": "checkbox"})
    assert soup.find("fieldset")["aria-describedby"] == "id_colour_error"
    assert soup.find("legend").get_text() == "Colour"
    alerts = [ul.get_text(" ", strip=True) for ul in soup.select("ul.errorlist.nonfield[role=alert]")]
    assert alerts == ["The whole form is refused.", "Token: This field is required."]
    # The errors of no field come before every field.
    assert html.index("The whole form is refused.") < html.index('id="div_id_name"')


# --- No hand-written field markup -----------------------------------------------------------------

TEMPLATE_DIRS = [*ROOT.glob("tenant_apps/*/templates"), *ROOT.glob("shared_apps/*/templates")]
# Hidden inputs carry a value, not a question, and need no label. Django admin screens (admin/) keep
# the admin's own form markup, and emails have no forms.
ALLOWED = re.compile(r'<input type="hidden"')
# A row's messages on the team page (``row.errors``) are an action's refusals, not a form's.
HAND_WRITTEN = re.compile(
    r"<(input|select|textarea|label)\b|label_tag|\.as_div|\.as_p\b|\.as_table|(form|field)(\.\w+)?\.errors\b"
)


def test_no_template_of_the_apps_writes_field_markup_by_hand():
    offenders = []
    for folder in TEMPLATE_DIRS:
        for path in folder.rglob("*.html"):
            relative = path.relative_to(folder).as_posix()
            if (
                relative.startswith(("platform/", "admin/"))
                or "/admin/" in relative
                or "/emails/" in relative
            ):
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for match in HAND_WRITTEN.finditer(line):
                    if not ALLOWED.match(line, match.start()):
                        offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert offenders == []
    assert TEMPLATE_DIRS and any((folder / "platform").is_dir() for folder in TEMPLATE_DIRS)
