"""Template context: the number of firing alerts the user may see, for the badge on every page."""

from alerts import selectors


def firing_count(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"firing_alerts": selectors.firing_count(user)}
