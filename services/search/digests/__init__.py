"""Digests: a monitor's matches of the day or week, sent at a fixed time by e-mail and to a chat
webhook, exactly once per monitor and period (``warta search digests``; docs/pr-workflows.md).

- :mod:`.config`: the ``schedule`` and ``channels`` of a monitor, as the API validates them.
- :mod:`.schedule`: the periods a schedule defines, and the idempotency key of a digest.
- :mod:`.build`: a digest's contents, from the monitor's matches and the articles.
- :mod:`.render`: the e-mail (subject, text, HTML) and chat messages, from Jinja2 templates.
- :mod:`.senders`: SMTP and the Slack-compatible webhook.
- :mod:`.store`: the claim, the lease and the per-channel state of each digest.
- :mod:`.runner`: the scheduler loop.
"""
