from django.urls import path

from clusters.consumers import LiveUpdatesConsumer

websocket_urlpatterns = [
    path("ws/updates/", LiveUpdatesConsumer.as_asgi(), name="ws-updates"),
    path("ws/clusters/<str:name>/", LiveUpdatesConsumer.as_asgi(), name="ws-cluster"),
]
