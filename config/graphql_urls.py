"""``/graphql/`` of every workspace (included by config/urls_tenant.py): one schema of the apps'
GraphQL types, served by the platform's GraphQL view (config/api/graphql.py: authentication,
limits, error format). GraphiQL answers a browser's GET only with DEBUG on (``manage.py dev``)."""

from django.urls import path

from config.api.graphql import GraphQLView, build_schema
from tenant_apps.accounts.api.graphql import AccountsMutation, AccountsQuery
from tenant_apps.projects.api.graphql import ProjectsMutation, ProjectsQuery

schema = build_schema(
    queries=[AccountsQuery, ProjectsQuery],
    mutations=[AccountsMutation, ProjectsMutation],
)

urlpatterns = [path("", GraphQLView.as_view(schema=schema), name="graphql")]
