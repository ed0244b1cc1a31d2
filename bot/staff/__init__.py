"""The NGO staff console: a small server-rendered web application beside the assistant.

Staff take over conversations the bot cannot handle (the inbox, over `bot.handoff`) and see
the questions it could not answer (the queue, over `bot.feedback`). It is a separate Sanic
app on its own port (STAFF_HOST:STAFF_PORT, 127.0.0.1:5080 by default) so that it can stay
on a private address while the webhooks face the internet.

Why this stack: Sanic is already installed through Rasa, Jinja2 is the one new template
dependency (autoescaping on), and pages are rendered on the server with one local CSS file
and a few lines of JavaScript for polling, so they load on a cheap phone and need no CDN.

- `roles.py`: the four roles and their order.
- `accounts.py`: accounts, Argon2 passwords, sessions, the login rate limit.
- `audit.py`: the audit log (`record`).
- `app.py`: the routes, each with its minimum role; CSRF; security headers.
- `cards.py`: answer cards (edit with live checks and preview, review, history, restore).
- `verification.py`: the verification queue and the agents' "flag a fact" form.
"""
