"""Django admin for the fleet. Secret fields are write-only: never rendered back."""

from django.contrib import admin

from clusters.forms import AccountForm
from clusters.models import Account, ApiToken, Cluster, Event, Membership, Node, Team, TeamGrant


class NodeInline(admin.TabularInline):
    model = Node
    fields = ["monitor_url", "server_name", "status", "version", "error"]
    readonly_fields = ["server_name", "status", "version", "error"]
    extra = 1


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "nats_cluster_name", "last_polled_at"]
    fields = ["name", "nats_urls", "poll_interval", "status", "nats_cluster_name", "last_polled_at"]
    readonly_fields = ["status", "nats_cluster_name", "last_polled_at"]
    inlines = [NodeInline]
    search_fields = ["name"]


class AccountAdminForm(AccountForm):
    class Meta(AccountForm.Meta):
        fields = ["cluster", *AccountForm.Meta.fields]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountAdminForm
    list_display = ["name", "cluster", "is_system", "auth_method"]
    list_filter = ["cluster", "is_system"]
    search_fields = ["name", "cluster__name"]


class GrantInline(admin.TabularInline):
    model = TeamGrant
    extra = 1
    autocomplete_fields = ["account"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    inlines = [GrantInline, MembershipInline]
    search_fields = ["name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at"]
    fields = ["user", "created_at"]
    readonly_fields = ["user", "created_at"]

    def has_add_permission(self, request):
        return False  # tokens come from `manage.py api_token USERNAME`


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["at", "cluster", "kind", "severity", "message"]
    list_filter = ["cluster", "kind", "severity"]
    readonly_fields = ["cluster", "node", "at", "kind", "severity", "message"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
