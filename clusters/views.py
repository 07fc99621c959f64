"""Pages of the fleet: overview, cluster (mesh graph, findings, events), node (figures, charts)."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clusters import live, selectors, services
from clusters.forms import AccountForm, ClusterForm
from core import stack


def superuser_required(view):
    """Pages for superusers only; others get the same 404 as for a page that does not exist."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_superuser:
            raise Http404()
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
def overview(request):
    from accounts.selectors import home_accounts

    clusters = selectors.visible_clusters(request.user)
    context = {"clusters": [live.cluster_brief(cluster) for cluster in clusters]}
    if not request.user.is_superuser:  # superusers get the cross-account overview instead
        context["your_accounts"] = home_accounts(request.user)
        context["usage_percent"] = settings.ALERT_ACCOUNT_JETSTREAM_WARNING
    if request.user.is_superuser:
        seen = stack.last_heartbeat()
        context.update(database=stack.check_database(), redis=stack.check_redis(),
                       heartbeat_at=seen, heartbeat_fresh=stack.heartbeat_is_fresh(seen))
    return render(request, "clusters/overview.html", context)


@require_GET
def cluster_detail(request, name):
    cluster = selectors.cluster_for(request.user, name)
    return render(request, "clusters/cluster.html", {
        "cluster": cluster,
        "brief": live.cluster_brief(cluster),
        "nodes": list(cluster.nodes.all()),
        "findings": (cluster.topology or {}).get("findings", []),
        "events": selectors.recent_events(cluster),
        "unmonitored": selectors.unmonitored_peers(cluster),
        "accounts": selectors.visible_accounts(request.user).filter(cluster=cluster),
    })


@require_GET
def node_detail(request, name, node):
    node = selectors.node_for(request.user, name, node)
    window = request.GET.get("window", "1h")
    if window not in selectors.WINDOWS:
        window = "1h"
    return render(request, "clusters/node.html", {
        "cluster": node.cluster, "node": node, "figures": node.figures or {},
        "window": window, "windows": list(selectors.WINDOWS),
    })


@superuser_required
@require_http_methods(["GET", "POST"])
def cluster_register(request):
    form = ClusterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cluster = services.register_cluster(
            name=form.cleaned_data["name"], nats_urls=form.cleaned_data["nats_urls"],
            monitor_urls=form.cleaned_data["monitor_urls"], poll_interval=form.cleaned_data["poll_interval"])
        messages.success(request, f"Registered {cluster.name}; its first poll is due now.")
        return redirect("cluster", name=cluster.name)
    return render(request, "clusters/register.html", {"form": form})


@superuser_required
@require_http_methods(["GET", "POST"])
def account_add(request, name):
    cluster = selectors.cluster_for(request.user, name)
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account = form.save(commit=False)
        account.cluster = cluster
        account.save()
        messages.success(request, f"Added account {account.name}.")
        return redirect("cluster", name=cluster.name)
    return render(request, "clusters/account_form.html", {"form": form, "cluster": cluster})


@superuser_required
@require_POST
def node_add(request, name):
    """Start monitoring a peer seen in the mesh: its monitoring URL comes from the form."""
    cluster = selectors.cluster_for(request.user, name)
    form = ClusterForm(data={"name": "x", "monitor_urls": request.POST.get("monitor_url", "")})
    form.is_valid()
    if "monitor_urls" in form.errors:
        messages.error(request, form.errors["monitor_urls"][0])
    else:
        for url in form.cleaned_data["monitor_urls"]:
            services.add_node(cluster=cluster, monitor_url=url)
        messages.success(request, "Node added; it is polled from the next poll on.")
    return redirect("cluster", name=cluster.name)


