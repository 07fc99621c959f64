from django.urls import path

from clusters import api, views

urlpatterns = [
    path("clusters/new/", views.cluster_register, name="cluster-register"),
    path("clusters/<str:name>/", views.cluster_detail, name="cluster"),
    path("clusters/<str:name>/accounts/new/", views.account_add, name="account-add"),
    path("clusters/<str:name>/nodes/add/", views.node_add, name="node-add"),
    path("clusters/<str:name>/nodes/<str:node>/", views.node_detail, name="node"),
    path("api/clusters/", api.clusters, name="api-clusters"),
    path("api/clusters/<str:name>/", api.cluster, name="api-cluster"),
    path("api/clusters/<str:name>/topology", api.topology, name="api-topology"),
    path("api/clusters/<str:name>/nodes/<str:node>/series", api.node_series, name="api-node-series"),
]
