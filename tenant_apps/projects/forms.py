from django import forms

from tenant_apps.projects.models import Comment, NotificationPreferences, Project, Task
from tenant_apps.projects.services import workspace_members


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class TaskForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = ["title", "description", "status", "priority", "assignee", "due_date"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "due_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = workspace_members()
        self.fields["assignee"].label_from_instance = lambda user: user.get_full_name()
        self.fields["assignee"].empty_label = "Nobody"


class CommentForm(forms.ModelForm):
    class Meta:
        model = Comment
        fields = ["body"]
        labels = {"body": "Add a comment"}
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = NotificationPreferences
        fields = ["assignment", "comments", "digest"]


class TaskFilterForm(forms.Form):
    """The filters of a project's task list, read from the query string."""

    status = forms.ChoiceField(choices=[("", "Any status"), *Task.Status.choices], required=False)
    assignee = forms.ChoiceField(required=False)
    due = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any time"),
            ("overdue", "Overdue"),
            ("today", "Due today"),
            ("week", "Due within 7 days"),
            ("none", "No due date"),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        people = [(str(u.public_id), u.get_full_name()) for u in workspace_members()]
        self.fields["assignee"].choices = [("", "Anyone"), ("me", "Me"), ("none", "Nobody"), *people]
