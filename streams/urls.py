from django.urls import path

from streams import api, views

urlpatterns = [
    path("clusters/<str:name>/streams/", views.stream_list, name="streams"),
    path("clusters/<str:name>/tail/", views.tail, name="tail"),
    path("clusters/<str:name>/accounts/<str:account>/streams/new/", views.stream_create, name="stream-create"),
    path("clusters/<str:name>/accounts/<str:account>/publish/", views.publish, name="publish"),
    path("clusters/<str:name>/accounts/<str:account>/streams/<str:stream>/", views.stream_detail, name="stream"),
    path("clusters/<str:name>/accounts/<str:account>/streams/<str:stream>/messages/", views.messages,
         name="messages"),
    path("clusters/<str:name>/accounts/<str:account>/streams/<str:stream>/messages/<str:seq>/delete/",
         views.message_delete, name="message-delete"),
    path("clusters/<str:name>/accounts/<str:account>/streams/<str:stream>/purge/", views.purge, name="purge"),
    path("clusters/<str:name>/accounts/<str:account>/streams/<str:stream>/limits/", views.edit_limits,
         name="stream-limits"),
    path("clusters/<str:name>/accounts/<str:account>/streams/<str:stream>/delete/", views.stream_delete,
         name="stream-delete"),
    path("audit/", views.audit_log, name="audit"),
    path("api/clusters/<str:name>/streams", api.streams, name="api-streams"),
    path("api/clusters/<str:name>/accounts/<str:account>/publish", api.publish, name="api-publish"),
    path("api/clusters/<str:name>/accounts/<str:account>/streams/<str:stream>/purge", api.purge, name="api-purge"),
    path("api/clusters/<str:name>/accounts/<str:account>/streams/<str:stream>/messages/<str:seq>/delete",
         api.delete_message, name="api-message-delete"),
    path("api/audit/", api.audit, name="api-audit"),
]
