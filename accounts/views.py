"""Account pages: one account of one cluster, and every account side by side (superusers)."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts import selectors, services
from clusters.models import Role
from clusters.views import superuser_required
from streams import access


@require_GET
def account_detail(request, name, account):
    account_obj, role = access.account_for(request.user, name, account)
    live = selectors.read_live(account_obj)
    services.keep_live_jetstream(account=account_obj, live=live)
    page = selectors.account_page(request.user, account_obj, role, live=live)
    return render(request, "accounts/account.html", {
        "cluster": account_obj.cluster, "account": account_obj, "operator": role == Role.OPERATOR,
        "page": page, "figures": page["figures"], "jetstream": page["jetstream"],
        "usage_percent": settings.ALERT_ACCOUNT_JETSTREAM_WARNING,
    })


@superuser_required
@require_GET
def overview(request):
    return render(request, "accounts/overview.html", {"rows": selectors.overview_rows(request.user),
                                                      "usage_percent": settings.ALERT_ACCOUNT_JETSTREAM_WARNING})
