"""Pages for streams: the list, a stream with its consumers and history, the message browser,
and the guarded actions (publish, purge, delete, create, edit limits), plus the audit log."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clusters import selectors as cluster_selectors
from clusters.models import Role
from streams import access, jetstream, rendering, selectors, services
from streams.api import max_payload
from streams.models import Action
from streams.validation import (
    InvalidInput,
    config_diff,
    limits_change,
    new_stream_config,
    publish_request,
    purge_request,
    sequence,
)

PAGE_SIZE = 50


@require_GET
def stream_list(request, name):
    cluster = cluster_selectors.cluster_for(request.user, name)
    sort = request.GET.get("sort", "account")
    descending = sort.startswith("-")
    rows, polled_at = selectors.streams_for(
        request.user, cluster, account=request.GET.get("account", ""), name=request.GET.get("name", ""),
        subject=request.GET.get("subject", ""), sort=sort.lstrip("-"), descending=descending)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "streams/list.html", {
        "cluster": cluster, "page": page, "total": len(rows), "polled_at": polled_at, "sort": sort,
        "accounts": sorted(selectors.visible_account_names(request.user, cluster)),
        "filters": {k: request.GET.get(k, "") for k in ("account", "name", "subject")},
        "query": query.urlencode(),
    })


@require_GET
def stream_detail(request, name, account, stream):
    account_obj, role = access.account_for(request.user, name, account)
    cluster = account_obj.cluster
    data = selectors.stream_for(request.user, cluster, account, stream)
    window = request.GET.get("window", "1h")
    if window not in cluster_selectors.WINDOWS:
        window = "1h"
    backlogs = selectors.consumer_backlogs(cluster, data)
    return render(request, "streams/stream.html", {
        "cluster": cluster, "account": account_obj, "stream": data, "operator": role == Role.OPERATOR,
        "consumers": [{**c, "backlog": backlogs.get(c["name"])} for c in data["consumers"]],
        "series": selectors.stream_series(cluster, data, window), "window": window,
        "windows": list(cluster_selectors.WINDOWS),
    })


@require_GET
def messages(request, name, account, stream):
    """Browse stored messages without consuming them: by sequence, by time, or last per subject."""
    account_obj, role = access.account_for(request.user, name, account)
    data = _stream(request, account_obj, stream)
    context = {"cluster": account_obj.cluster, "account": account_obj, "stream": data,
               "operator": role == Role.OPERATOR, "message": None, "error": ""}
    try:
        message = _browse(request, account_obj, stream, data)
    except InvalidInput as error:
        context["error"] = str(error)
    except jetstream.JetStreamError as error:
        context["error"] = str(error)
    else:
        show_all = request.GET.get("all") == "1"
        context.update(message=message, payload=rendering.render_payload(message.data, limit=None if show_all else
                                                                          rendering.PREVIEW_BYTES))
    return render(request, "streams/messages.html", context)


def _browse(request, account, stream: str, data: dict) -> jetstream.StoredMessage:
    get = request.GET
    if get.get("subject"):
        return services.read_message(account=account, stream=stream, subject=get["subject"])
    if get.get("time"):
        try:
            at = datetime.fromisoformat(get["time"])
        except ValueError:
            raise InvalidInput("time must look like 2026-11-21T14:30:00") from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt_timezone.utc)
        return services.message_at_time(account=account, stream=stream, at=at)
    direction = get.get("go", "at")
    if direction not in ("at", "next", "previous"):
        direction = "at"
    default = data.get("last_seq") or 1
    seq = sequence(get.get("seq") or default)
    if direction == "next":
        seq += 1
    elif direction == "previous":
        seq = max(seq - 1, 1)
    return services.read_message(account=account, stream=stream, seq=seq, direction=direction)


@require_POST
def message_delete(request, name, account, stream, seq):
    account_obj, _ = access.account_for(request.user, name, account, operate=True)
    try:
        number = sequence(seq)
        services.delete_message(user=request.user, account=account_obj, stream=stream, seq=number)
    except (InvalidInput, jetstream.JetStreamError) as error:
        flash.error(request, f"Not deleted: {error}")
        return redirect(f"{_stream_url(name, account, stream)}messages/?seq={seq}")
    flash.success(request, f"Deleted message {number} from {stream}.")
    return redirect(f"{_stream_url(name, account, stream)}messages/?seq={number}&go=next")


@require_http_methods(["GET", "POST"])
def publish(request, name, account):
    account_obj, _ = access.account_for(request.user, name, account, operate=True)
    context = {"cluster": account_obj.cluster, "account": account_obj, "result": None, "error": "",
               "form": request.POST or {"timeout": "2"}}
    if request.method == "POST":
        try:
            headers = _header_lines(request.POST.get("headers", ""))
            publish = publish_request({
                "subject": request.POST.get("subject", "").strip(), "data": request.POST.get("data", ""),
                "headers": headers, "request": request.POST.get("request") == "on",
                "timeout": float(request.POST.get("timeout") or 2)}, max_payload=max_payload(account_obj.cluster))
            context["result"] = services.publish(user=request.user, account=account_obj, request=publish)
        except (InvalidInput, jetstream.JetStreamError) as error:
            context["error"] = str(error)
        except ValueError:
            context["error"] = "timeout must be a number of seconds"
    return render(request, "streams/publish.html", context)


def _header_lines(text: str) -> dict:
    headers = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if ":" not in line:
            raise InvalidInput(f"header line {number} needs the form Name: value")
        key, _, value = line.partition(":")
        headers[key.strip()] = value.strip()
    return headers


@require_http_methods(["GET", "POST"])
def purge(request, name, account, stream):
    """Step one shows how many messages would go; step two needs the stream's name typed."""
    account_obj, _ = access.account_for(request.user, name, account, operate=True)
    data = _stream(request, account_obj, stream)
    source = request.POST if request.method == "POST" else request.GET
    context = {"cluster": account_obj.cluster, "account": account_obj, "stream": data, "preview": None,
               "error": "", "values": {k: source.get(k, "") for k in ("subject", "keep", "seq")}}
    if not any(context["values"].values()) and request.method == "GET" and "preview" not in source:
        return render(request, "streams/purge.html", context)
    try:
        wanted = purge_request({k: v for k, v in context["values"].items() if v != ""})
    except InvalidInput as error:
        context["error"] = str(error)
        return render(request, "streams/purge.html", context)
    context["mode"] = wanted.mode
    try:
        if request.method == "POST" and source.get("confirm") is not None and source.get("confirm") != stream:
            context["error"] = f"type the stream's name, {stream}, to confirm"
        elif request.method == "POST" and source.get("confirm") is not None:
            result = services.purge(user=request.user, account=account_obj, stream=stream, request=wanted)
            flash.success(request, f"Purged {result['purged']} message(s) from {stream}.")
            return redirect(_stream_url(name, account, stream))
        # The preview stays in view beside any error, so the confirmation can be typed again.
        context["preview"] = services.purge_preview(account=account_obj, stream=stream, request=wanted)
    except jetstream.JetStreamError as error:
        context["error"] = str(error)
    return render(request, "streams/purge.html", context)


@require_http_methods(["GET", "POST"])
def stream_create(request, name, account):
    account_obj, _ = access.account_for(request.user, name, account, operate=True)
    context = {"cluster": account_obj.cluster, "account": account_obj, "error": "", "values": request.POST}
    if request.method == "POST":
        try:
            config = new_stream_config(request.POST.dict())
            services.create_stream(user=request.user, account=account_obj, config=config)
        except (InvalidInput, jetstream.JetStreamError) as error:
            context["error"] = str(error)
        else:
            flash.success(request, f"Created stream {config['name']}; it shows here after the next poll.")
            return redirect("streams", name=name)
    return render(request, "streams/create.html", context)


@require_http_methods(["GET", "POST"])
def edit_limits(request, name, account, stream):
    """Shows the changes as a diff first; applies them when confirmed."""
    account_obj, _ = access.account_for(request.user, name, account, operate=True)
    data = _stream(request, account_obj, stream)
    context = {"cluster": account_obj.cluster, "account": account_obj, "stream": data, "error": "", "diff": None,
               "values": request.POST or {}}
    try:
        current = services.stream_config(account=account_obj, stream=stream)
    except jetstream.JetStreamError as error:
        context["error"] = str(error)
        return render(request, "streams/limits.html", context)
    context["current"] = current
    if request.method == "POST":
        try:
            wanted = limits_change(current, request.POST.dict())
            diff = config_diff(current, wanted)
            if not diff:
                raise InvalidInput("nothing to change")
            if request.POST.get("apply") == "yes":
                services.update_stream_limits(user=request.user, account=account_obj, config=wanted, diff=diff)
                flash.success(request, f"Updated the limits of {stream}.")
                return redirect(_stream_url(name, account, stream))
            context["diff"] = diff
        except (InvalidInput, jetstream.JetStreamError) as error:
            context["error"] = str(error)
    return render(request, "streams/limits.html", context)


@require_http_methods(["GET", "POST"])
def stream_delete(request, name, account, stream):
    account_obj, _ = access.account_for(request.user, name, account, operate=True)
    data = _stream(request, account_obj, stream)
    context = {"cluster": account_obj.cluster, "account": account_obj, "stream": data, "error": ""}
    if request.method == "POST":
        if request.POST.get("confirm") != stream:
            context["error"] = f"type the stream's name, {stream}, to confirm"
        else:
            try:
                services.delete_stream(user=request.user, account=account_obj, stream=stream)
            except jetstream.JetStreamError as error:
                context["error"] = str(error)
            else:
                flash.success(request, f"Deleted stream {stream}.")
                return redirect("streams", name=name)
    return render(request, "streams/delete.html", context)


@require_GET
def tail(request, name):
    cluster = cluster_selectors.cluster_for(request.user, name)
    accounts = sorted(selectors.visible_account_names(request.user, cluster))
    account = request.GET.get("account") if request.GET.get("account") in accounts else (accounts[0] if accounts else "")
    return render(request, "streams/tail.html", {"cluster": cluster, "accounts": accounts, "account": account,
                                                 "subject": request.GET.get("subject", "")})


@require_GET
def audit_log(request):
    entries = selectors.audit_entries_for(request.user)
    filters = {k: request.GET.get(k, "") for k in ("cluster", "account", "action", "user", "outcome")}
    for key, field in (("cluster", "cluster"), ("account", "account"), ("action", "action"),
                       ("user", "username"), ("outcome", "outcome")):
        if filters[key]:
            entries = entries.filter(**{field: filters[key]})
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "streams/audit.html", {"page": page, "filters": filters, "actions": Action.choices})


def _stream(request, account, stream: str) -> dict:
    """The stream as the last poll saw it, or as NATS describes it now when the poll has not seen
    it yet (just created, say); 404 when neither knows it."""
    try:
        return selectors.stream_for(request.user, account.cluster, account.name, stream)
    except Http404:
        pass
    try:
        info = services.stream_info(account=account, stream=stream)
    except jetstream.NotFound:
        raise Http404("No such stream") from None
    except jetstream.JetStreamError as error:
        raise Http404(f"Stream unavailable: {error}") from None
    config, state = info.get("config") or {}, info.get("state") or {}
    return {"account": account.name, "name": stream, "subjects": config.get("subjects") or [],
            "messages": state.get("messages", 0), "bytes": state.get("bytes", 0),
            "first_seq": state.get("first_seq", 0), "last_seq": state.get("last_seq", 0),
            "consumers": [], "num_replicas": config.get("num_replicas", 1)}


def _stream_url(name: str, account: str, stream: str) -> str:
    from django.urls import reverse

    return reverse("stream", kwargs={"name": name, "account": account, "stream": stream})


