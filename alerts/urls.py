from django.urls import path

from alerts import api, views

urlpatterns = [
    path("alerts/", views.alert_list, name="alerts"),
    path("clusters/<str:name>/health/", views.cluster_health, name="cluster-health"),
    path("clusters/<str:name>/health/thresholds/", views.thresholds, name="thresholds"),
    path("api/alerts/", api.alerts, name="api-alerts"),
    path("api/clusters/<str:name>/checks", api.cluster_checks, name="api-checks"),
]
