"""The API gateway's side of DistillWatch's actions, a library the gateway embeds (no Faust).

``follower.ActionFollower`` reads ``distillwatch.actions.v1`` into a
``streams.enforcement.EnforcementTable`` on a thread of its own; ``table.decide(account_id,
api_key_id, now)`` answers each request in memory; ``asgi.EnforcementMiddleware`` is an
example of a gateway applying the decisions.
"""
