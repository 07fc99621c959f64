from django.urls import path

from accounts import api, views

urlpatterns = [
    # After clusters.urls, whose "clusters/<name>/accounts/new/" comes first.
    path("clusters/<str:name>/accounts/<str:account>/", views.account_detail, name="account"),
    path("accounts/", views.overview, name="accounts-overview"),
    path("api/clusters/<str:name>/accounts/", api.accounts, name="api-accounts"),
    path("api/clusters/<str:name>/accounts/<str:account>/", api.account, name="api-account"),
]
