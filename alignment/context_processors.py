from django.http import HttpRequest


def csp_nonce(request: HttpRequest) -> dict[str, str]:
    """Expose django-csp's nonce as `csp_nonce`, the name django-htmx's {% htmx_script %} (and Django 6) use."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
