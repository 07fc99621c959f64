from django.urls import path

from clusters.consumers import LiveUpdatesConsumer
from streams.consumers import TailConsumer

websocket_urlpatterns = [
    path("ws/updates/", LiveUpdatesConsumer.as_asgi(), name="ws-updates"),
    path("ws/clusters/<str:name>/", LiveUpdatesConsumer.as_asgi(), name="ws-cluster"),
    path("ws/clusters/<str:name>/accounts/<str:account>/tail/", TailConsumer.as_asgi(), name="ws-tail"),
]
