from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from clusters import views as cluster_views
from core import views as core_views

urlpatterns = [
    path("", cluster_views.overview, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("clusters.urls")),
    path("", include("streams.urls")),
    path("", include("alerts.urls")),
    path("", include("notifications.urls")),
    path("", include("metrics.urls")),
    path("", include("accounts.urls")),
]
