"""Who may see and act on an account. 404 for what a user may not see; 403 for an action
on an account the user may see but not operate."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from clusters import selectors
from clusters.models import Account, Role


def account_for(user, cluster_name: str, account_name: str, *, operate: bool = False) -> tuple[Account, str]:
    """The account and the user's role on it; Http404 when unseen, PermissionDenied when
    `operate` is asked of a viewer."""
    account = (selectors.visible_accounts(user).select_related("cluster")
               .filter(cluster__name=cluster_name, name=account_name).first())
    if account is None:
        raise Http404("No such cluster or account")
    role = selectors.role_on(user, account)
    if role is None:
        raise Http404("No such cluster or account")
    if operate and role != Role.OPERATOR:
        raise PermissionDenied(f"the operator role on {account_name} is needed for this")
    return account, role
