"""Serving: the HTTP model server and its prediction log (``predlog``)."""
