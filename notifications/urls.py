from django.urls import path

from notifications import views

urlpatterns = [
    path("teams/<str:team>/notifications/", views.team_notifications, name="team-notifications"),
    path("teams/<str:team>/notifications/channels/", views.channel_add, name="notification-channel-add"),
    path("teams/<str:team>/notifications/channels/<int:pk>/delete/", views.channel_delete,
         name="notification-channel-delete"),
    path("teams/<str:team>/notifications/silences/", views.silence_add, name="silence-add"),
    path("teams/<str:team>/notifications/silences/<int:pk>/delete/", views.silence_delete, name="silence-delete"),
]
