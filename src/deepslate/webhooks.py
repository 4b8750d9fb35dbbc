"""Verifiers for the HTTP ingress (``deepslate.Ingress(verify=...)``): signed webhooks
(Standard Webhooks, Stripe, GitHub) and bearer tokens. See runtime/webhooks.py."""
from .runtime.webhooks import TOLERANCE, Bearer, GitHub, StandardWebhooks, Stripe, Unverified, Verifier

__all__ = ["Verifier", "Unverified", "StandardWebhooks", "Stripe", "GitHub", "Bearer", "TOLERANCE"]
