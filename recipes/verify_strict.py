"""Fetches URL trusting only CA_FILE, as strictly as Python 3.13 does by default
(VERIFY_X509_STRICT: key identifiers, a critical basicConstraints on the CA, a subjectAltName),
and prints the body: python3 recipes/verify_strict.py CA_FILE URL"""

import ssl
import sys
import urllib.request

ca_file, url = sys.argv[1:3]
context = ssl.create_default_context(cafile=ca_file)
context.verify_flags |= ssl.VERIFY_X509_STRICT
with urllib.request.urlopen(url, context=context, timeout=10) as response:
    print(response.read().decode())
