"""A real KNX/IP bus for end-to-end tests and the demo: knxd inside a private network namespace.

Why a namespace
    knxd joins the KNX multicast group 224.0.23.12 even when it only serves tunnelling. In the host's
    network namespace that sends IGMP membership reports to the real LAN, so knxd must never run
    there. `KnxdBus` creates a namespace of its own (name ``knxevse-<owner pid>-<6 hex>``) that has
    only ``lo``, up, with the route ``224.0.0.0/4 dev lo src 127.0.0.1`` (without it knxd exits with
    "Link down"), and starts knxd inside it with ``ip netns exec``. knxd then serves KNXnet/IP
    tunnelling over UDP on 127.0.0.1:3671 *of that namespace* (8 tunnel slots, individual addresses
    0.0.2-0.0.9, knxd's own routing off). Nothing is reachable from the host namespace.

Who runs where
    Every tunnel client (Home Assistant, the simulator, pytest) runs inside the same namespace and uses
    ``ConnectionConfig(connection_type=ConnectionType.TUNNELING, gateway_ip="127.0.0.1",
    gateway_port=3671, local_ip="127.0.0.1")``. Three ways in:

    * a whole process: ``ip netns exec NS CMD...`` (`KnxdBus.exec_args` builds that argv);
    * one thread of this process: ``with netns_context(ns):`` (``os.setns``). On Linux the network
      namespace belongs to a thread, not to the process. A socket keeps the namespace it was created
      in for its whole life, and a new thread starts in the namespace of the thread that created it.
      The e2e tests use this: a fixture moves the main thread, where pytest-asyncio runs the event
      loop, into the namespace for one test and back afterwards. Sockets made in that time (xknx's UDP
      tunnel, also with xknx's ``threaded=True``, whose thread is created then) live in the namespace.
      Threads started earlier (executor pools) stay where they were;
    * one socket: `socket_in_netns` (a short-lived helper thread enters the namespace, creates the
      socket and exits).

Reaching Home Assistant from the host (recommended approach)
    Run Home Assistant inside the namespace like every other bus client
    (``ip netns exec NS .venv/bin/hass -c CONFIG``; it listens on port 8123 there, where only ``lo``
    exists), and run a TCP forwarder in the host namespace::

        python -m knxbus forward NS 8123        # host 127.0.0.1:8123 -> NS 127.0.0.1:8123

    `forward_tcp` listens on host 127.0.0.1 only. For each accepted connection it creates the
    upstream socket inside the namespace (see `socket_in_netns`), connects it to 127.0.0.1:8123 there
    and copies bytes both ways, half-closes included, so HTTP and websockets both work. So Home
    Assistant is reachable from the host at http://127.0.0.1:8123 and only there. The forwarder is pure
    Python (asyncio), needs root only for ``setns``, and holds no state in the host namespace beyond
    its listening socket; stopping it (SIGINT/SIGTERM) is the whole cleanup.

    Alternatives considered and rejected:

    * a veth pair: the host end needs an address, a route and NAT or ``route_localnet`` to appear as
      127.0.0.1:8123, and it leaves state in the host namespace that a crashed run can leak;
    * Home Assistant in the host namespace with only UDP 3671 bridged: KNXnet/IP carries the client's
      IP address and port inside its payload (HPAI), so a relay has to keep a mapping per tunnel and
      rewrite or ``route_back``; 3671 on the host's 127.0.0.1 would also collide between parallel runs;
    * socat (``TCP-LISTEN:8123,bind=127.0.0.1,fork EXEC:'ip netns exec NS socat STDIO TCP:...'``): an
      extra package and two processes per connection.

    Consequence: a process in the namespace has no route to the internet. Home Assistant must find
    every requirement already installed (pre-install them; ``hass --skip-pip`` makes this explicit),
    and anything that calls the cloud fails at once with "Network is unreachable".

State and cleanup
    Each bus writes ``STATE_DIR/<ns>/state.json`` (plus ``knxd.ini`` and ``knxd.log``) before it
    creates the namespace. STATE_DIR is ``$KNXEVSE_STATE_DIR``, else ``/run/knxevse`` as root, else
    ``$XDG_RUNTIME_DIR/knxevse``, else ``/tmp/knxevse-<uid>``. The state names the owner process
    (pid and start time) and the knxd process (pid and start time). `cleanup_stale` tears down every
    bus whose owner is dead: it stops the recorded knxd (only if pid, start time and name still match)
    and any other knxd inside that namespace (only this module starts knxd in a ``knxevse-``
    namespace), deletes the namespace and the state. Namespaces with our prefix but without state are
    handled by the owner pid in their name. Other processes are never killed; those still inside a
    deleted namespace are reported (``left_pids``).

Figures (measured on a 2-core VM, knxd 0.14.54, xknx 4.0.0)
    ``start()`` about 30-40 ms in all, of which knxd needs 12-25 ms until it answers; ``restart()``
    12-17 ms; ``stop()`` about 7 ms. Two tunnel clients connect in under 2 ms. A GroupValueWrite
    from one client reaches the other in about 0.4 ms; write -> echo round trip about 0.7 ms (1.2 ms
    with ``threaded=True``); a burst of 2000 writes arrives complete at about 3300 telegrams/s. After
    a knxd restart, a client that sends reconnects by itself about 2 s later (two missed ACKs); one
    that only listens notices at its next heartbeat.
"""
