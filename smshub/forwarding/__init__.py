"""Forwarding and integrations: SMS to email, forward to mobile, URL callbacks, webhooks."""
