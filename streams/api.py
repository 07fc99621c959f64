"""JetStream JSON API. Errors: 400 bad input, 403 no permission, 404 unknown cluster, account
or stream, 502 when NATS cannot be reached; nothing changes on an error."""

import json

from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from clusters import selectors as cluster_selectors
from clusters.api import api_view
from streams import access, jetstream, selectors, services
from streams.validation import InvalidInput, publish_request, purge_request, sequence, stream_name


def json_body(request) -> dict:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except ValueError:
        raise InvalidInput("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    return body


def action_view(view):
    """Maps input and NATS failures to JSON errors."""
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except InvalidInput as error:
            return JsonResponse({"error": str(error)}, status=400)
        except jetstream.NotFound as error:
            return JsonResponse({"error": str(error)}, status=404)
        except jetstream.BadRequest as error:
            return JsonResponse({"error": str(error)}, status=400)
        except jetstream.JetStreamError as error:
            return JsonResponse({"error": str(error)}, status=502)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def max_payload(cluster) -> int | None:
    sizes = [n.figures.get("max_payload") for n in cluster.nodes.all() if n.status == "up" and n.figures]
    sizes = [size for size in sizes if size]
    return min(sizes) if sizes else None


@api_view
@require_GET
def streams(request, name):
    cluster = cluster_selectors.cluster_for(request.user, name)
    rows, polled_at = selectors.streams_json_for(
        request.user, cluster, account=request.GET.get("account", ""), name=request.GET.get("name", ""),
        subject=request.GET.get("subject", ""), sort=request.GET.get("sort", "account"))
    # The rows are stored as JSON text: joined, not parsed and encoded again (5,000 streams).
    head = json.dumps({"cluster": cluster.name, "polled_at": polled_at.isoformat() if polled_at else None})
    body = f'{head[:-1]}, "streams": [{",".join(rows)}]}}'
    return HttpResponse(body, content_type="application/json")


@api_view
@require_POST
@action_view
def purge(request, name, account, stream):
    account_obj, _ = access.account_for(request.user, name, account, operate=True)
    stream_name(stream)
    result = services.purge(user=request.user, account=account_obj, stream=stream,
                            request=purge_request(json_body(request)))
    return JsonResponse(result)


@api_view
@require_POST
@action_view
def publish(request, name, account):
    account_obj, _ = access.account_for(request.user, name, account, operate=True)
    publish = publish_request(json_body(request), max_payload=max_payload(account_obj.cluster))
    return JsonResponse(services.publish(user=request.user, account=account_obj, request=publish))


@api_view
@require_POST
@action_view
def delete_message(request, name, account, stream, seq):
    account_obj, _ = access.account_for(request.user, name, account, operate=True)
    stream_name(stream)
    return JsonResponse(services.delete_message(user=request.user, account=account_obj, stream=stream,
                                                seq=sequence(seq)))


@api_view
@require_GET
def audit(request):
    entries = selectors.audit_entries_for(request.user)[:500]
    return JsonResponse({"entries": [{
        "at": e.at.isoformat(), "user": e.username, "cluster": e.cluster, "account": e.account,
        "action": e.action, "target": e.target, "parameters": e.parameters, "outcome": e.outcome,
        "error": e.error, "result": e.result} for e in entries]})
