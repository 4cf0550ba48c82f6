"""The platform's API plumbing, shared by the tenant API and the operator API.

Settings point DRF here (``REST_FRAMEWORK`` in config/settings.py): Bearer-token authentication,
the error format, pagination, throttles and the JSON parser; ``tokens`` holds the token exchange
both APIs serve. Nothing here knows an app: the apps' API views build on it.
"""
