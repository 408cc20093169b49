"""A real KNX/IP bus for end-to-end tests and the demo: knxd inside a private network namespace.

knxd serves KNXnet/IP tunnelling on UDP 127.0.0.1:3671 of a namespace that has only ``lo``; every
tunnel client runs inside it. `knxd.KnxdBus` starts and stops it, `netns` enters it, `state` cleans
up after crashed runs, `forward` reaches it from the host, ``python -m knxbus`` drives it all. Needs
root. Why a namespace, who runs where, state and cleanup, figures: docs/test-bus.md.
"""
