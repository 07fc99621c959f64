"""Accounts JSON API: the accounts of a cluster the user may see, and one account with the
figures of its page. An account the user may not see answers 404."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from accounts import selectors, services
from clusters import selectors as cluster_selectors
from clusters.api import api_view
from streams import access


@api_view
@require_GET
def accounts(request, name):
    cluster = cluster_selectors.cluster_for(request.user, name)
    accounts = selectors.accounts_of_cluster(request.user, cluster)
    roles = selectors.roles_on(request.user, accounts)
    return JsonResponse({"cluster": cluster.name, "accounts": [
        {**selectors.account_brief(account), "role": roles[account.pk]} for account in accounts]})


@api_view
@require_GET
def account(request, name, account):
    account_obj, role = access.account_for(request.user, name, account)
    live = selectors.read_live(account_obj)
    services.keep_live_jetstream(account=account_obj, live=live)
    return JsonResponse(selectors.account_page(request.user, account_obj, role, live=live))
