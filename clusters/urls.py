from django.urls import path

from clusters import api, team_views, views

urlpatterns = [
    path("clusters/new/", views.cluster_register, name="cluster-register"),
    path("clusters/<str:name>/", views.cluster_detail, name="cluster"),
    path("clusters/<str:name>/accounts/new/", views.account_add, name="account-add"),
    path("clusters/<str:name>/nodes/add/", views.node_add, name="node-add"),
    path("clusters/<str:name>/nodes/<str:node>/", views.node_detail, name="node"),
    path("teams/", team_views.team_list, name="teams"),
    path("teams/<str:team>/", team_views.team_detail, name="team"),
    path("teams/<str:team>/delete/", team_views.team_delete, name="team-delete"),
    path("teams/<str:team>/grants/", team_views.grant_add, name="team-grant-add"),
    path("teams/<str:team>/grants/<int:pk>/delete/", team_views.grant_delete, name="team-grant-delete"),
    path("teams/<str:team>/members/", team_views.member_add, name="team-member-add"),
    path("teams/<str:team>/members/<int:pk>/delete/", team_views.member_delete, name="team-member-delete"),
    path("api/clusters/", api.clusters, name="api-clusters"),
    path("api/clusters/<str:name>/", api.cluster, name="api-cluster"),
    path("api/clusters/<str:name>/topology", api.topology, name="api-topology"),
    path("api/clusters/<str:name>/nodes/<str:node>/series", api.node_series, name="api-node-series"),
]
