from django.urls import path

from tenant_apps.projects import views

app_name = "projects"

urlpatterns = [
    path("projects/", views.project_list, name="list"),
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/<uuid:public_id>/", views.project_detail, name="project"),
    path("projects/<uuid:public_id>/edit/", views.project_edit, name="project_edit"),
    path("projects/<uuid:public_id>/archive/", views.project_archive, name="project_archive"),
    path("projects/<uuid:public_id>/delete/", views.project_delete, name="project_delete"),
    path("projects/<uuid:public_id>/tasks/new/", views.task_create, name="task_create"),
    path("tasks/<uuid:public_id>/", views.task_detail, name="task"),
    path("tasks/<uuid:public_id>/edit/", views.task_edit, name="task_edit"),
    path("tasks/<uuid:public_id>/delete/", views.task_delete, name="task_delete"),
    path("my-tasks/", views.my_tasks, name="my_tasks"),
    path("settings/notifications/", views.preferences, name="preferences"),
]
