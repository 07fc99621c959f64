from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError

from clusters.models import Account, Cluster, Role, name_validator


def _url_lines(text: str, schemes: set[str], example: str) -> list[str]:
    urls = [line.strip() for line in text.splitlines() if line.strip()]
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in schemes or not parts.hostname:
            raise ValidationError(f"{url!r} is not a URL like {example}")
    if len(set(urls)) != len(urls):
        raise ValidationError("a URL is listed twice")
    return urls


class ClusterForm(forms.Form):
    name = forms.CharField(max_length=100, validators=[name_validator])
    monitor_urls = forms.CharField(
        label="Monitoring URLs", widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, each node's monitoring port: http://nats-1:8222")
    nats_urls = forms.CharField(
        label="Client URLs", required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line: nats://nats-1:4222 (for the message tail and actions)")
    poll_interval = forms.IntegerField(
        required=False, min_value=1, help_text="Seconds between polls; empty: the default")

    def clean_name(self):
        name = self.cleaned_data["name"]
        if Cluster.objects.filter(name=name).exists():
            raise ValidationError(f"a cluster named {name!r} is already registered")
        return name

    def clean_monitor_urls(self):
        urls = _url_lines(self.cleaned_data["monitor_urls"], {"http", "https"}, "http://host:8222")
        if not urls:
            raise ValidationError("give at least one node's monitoring URL")
        return urls

    def clean_nats_urls(self):
        return _url_lines(self.cleaned_data["nats_urls"], {"nats", "tls", "ws", "wss"}, "nats://host:4222")


class AccountForm(forms.ModelForm):
    """Secrets are write-only: never rendered back; left empty when editing, they are kept."""

    password = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    token = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    nkey_seed = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    creds = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
                            help_text="Paste a .creds file; stored encrypted, never shown again")

    class Meta:
        model = Account
        fields = ["name", "is_system", "user", "password", "token", "nkey_seed", "creds", "creds_file",
                  "tls_ca_file", "tls_cert_file", "tls_key_file"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in Account.SECRET_FIELDS:
            self.initial[name] = ""
            if self.instance.pk and getattr(self.instance, name):
                self.fields[name].help_text = "stored; leave empty to keep it"

    def clean(self):
        data = super().clean()
        for name in Account.SECRET_FIELDS:
            if not data.get(name) and self.instance.pk:
                data[name] = getattr(self.instance, name)
        if data.get("password") and not data.get("user"):
            self.add_error("user", "a password needs a user")
        return data


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100, validators=[name_validator])

    def clean_name(self):
        from clusters.models import Team

        name = self.cleaned_data["name"]
        if Team.objects.filter(name=name).exists():
            raise ValidationError(f"a team named {name!r} already exists")
        return name


class GrantForm(forms.Form):
    account = forms.ModelChoiceField(
        queryset=Account.objects.select_related("cluster").order_by("cluster__name", "name"),
        help_text="Members see this account; its operators act on it.",
        error_messages={"invalid_choice": "no such account: pick one from the list"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].label_from_instance = lambda account: f"{account.cluster.name} / {account.name}"


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def clean_username(self):
        from django.contrib.auth import get_user_model

        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise ValidationError(f"no user named {username!r}")
        self.cleaned_data["user"] = user
        return username
