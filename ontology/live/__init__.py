"""Live updates: one change stream per process, fanned out to narrow subscriptions.

``feed`` reads the database's change stream (filtered on the server to the
collections and operations subscriptions read), ``changes`` turns each change
event into the topics it touches, ``hub`` holds the index from a topic (a group
and a document id or filter key) to the subscribers that read it, each with a
bounded queue. Nothing here knows GraphQL: the interface layer
(``ontology.api.live``) subscribes and builds results through the loaders.
"""
