"""A local OIDC-style issuer that stands in for Firebase Auth / Identity Platform on the local stack.

It signs RS256 ID tokens shaped like Firebase's (``iss`` = ``https://securetoken.google.com/<project>``, ``aud`` =
project, ``sub``/``user_id``, ``auth_time``, ``firebase.sign_in_provider``, custom claim ``role``), publishes its
certificates in Google's x509 metadata format, and answers Identity Toolkit's ``accounts:signInWithPassword`` for a
few local users. The admin API verifies these tokens with the same code it uses in production; only the certificate
URL differs. ``identity.webserve`` serves the static web app with a ``config.json`` pointing at both.
"""
