#!/usr/bin/env python3
"""python-socketio's client (from PyPI) against the server under test.

    python3 e2e/clients/python_client.py URL [polling|websocket|upgrade]

URL is the server's base, e.g. http://127.0.0.1:3000. Socket.IO is at
/socket.io/ with namespaces / and /custom (see clients/server.js). Prints one
line `ok <check>` per check that passed and exits 0; on the first failure it
prints the traceback and exits 1. clients/python.test.js runs it.
"""
import os
import queue
import random
import sys
import threading
import time
import traceback

import socketio
from engineio.payload import Payload

TIMEOUT = 10.0
# PYCLIENT_DEBUG=1 logs every packet of every client to stderr.
DEBUG = bool(os.environ.get('PYCLIENT_DEBUG'))

# python-engineio refuses a polling payload of more than 16 packets ("Too
# many packets in payload", python-engineio issue #142) and drops the
# connection; node's server batches everything queued into one GET answer,
# so a burst over polling trips it. Raising this limit is the maintainer's
# documented workaround, and what a python user of a busy server does.
Payload.max_decode_packets = 4096

# Text that trips UTF-16 vs UTF-8 vs code point counting, and framing.
NON_BMP = ('😀 🎉 𝄞 𠜎 漢字 ünïcødé — 4:4 12:4x b4AQI= \u2028\u2029 "quoted" '
           '\\ end 👍🏽')


def pattern(n, seed=7):
    """n pseudo-random bytes (fast: no Python loop holding the GIL while
    other clients of this process must answer 200 ms pings)."""
    return random.Random(seed).randbytes(n)


def big_text(n):
    alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
    parts, size, i = [], 0, 0
    while size < n:
        part = f'{i}{alphabet[i % len(alphabet)]}'
        parts.append(part)
        size += len(part)
        i += 1
    return ''.join(parts)[:n]


class Peer:
    """One python-socketio Client and everything it received, in order."""

    def __init__(self, name, url, transports):
        self.name = name
        self.url = url
        self.transports = transports
        # websocket-client checks the UTF-8 of every text frame in pure
        # Python (~0.5 s per MB here) unless wsaccel is installed: a 500 KB
        # frame would keep this client from answering a ping within the
        # server's 200 ms. Python's own strict decoding of the frame still
        # rejects invalid UTF-8.
        self.sio = socketio.Client(
            reconnection=False, logger=DEBUG, engineio_logger=DEBUG,
            websocket_extra_options={'skip_utf8_validation': True})
        self.log = []  # (namespace, event, args)
        self.cond = threading.Condition()
        self.asked = []
        # python-engineio runs the handler of every incoming message in a
        # thread of its own, so handlers may run out of arrival order. Hand
        # them to one worker thread instead, in arrival order: this script
        # checks the order in which the *server* sent things. (Not in the
        # reading thread itself: a server DISCONNECT makes python-socketio
        # join that thread from the handler.)
        trigger = self.sio.eio._trigger_event
        self.inbox = queue.Queue()

        def work():
            while True:
                args = self.inbox.get()
                if args is None:
                    return
                trigger('message', *args, run_async=False)

        threading.Thread(target=work, name=f'{name}-handlers', daemon=True).start()

        def in_order(event, *args, **kwargs):
            if event == 'message' and kwargs.get('run_async'):
                self.inbox.put(args)
                return None
            return trigger(event, *args, **kwargs)

        self.sio.eio._trigger_event = in_order
        # Handlers on namespace '*' get the namespace as first argument.
        self.sio.on('*', self._any, namespace='*')
        self.sio.on('connect', self._connect, namespace='*')
        self.sio.on('disconnect', self._disconnect, namespace='*')
        self.sio.on('connect_error', self._connect_error, namespace='*')

    def _push(self, namespace, event, args):
        with self.cond:
            self.log.append((namespace, event, list(args)))
            self.cond.notify_all()

    def _any(self, event, namespace, *args):
        self._push(namespace, event, args)
        if event == 'question':
            # the server asked with an ack: answer it
            self.asked.append(list(args))
            return ('reply', args[0], {'got': len(args)}, b'\x01\x02\x03')
        return None

    def _connect(self, namespace):
        self._push(namespace, 'connect', [])

    def _disconnect(self, namespace, reason=None):
        self._push(namespace, 'disconnect', [reason])

    def _connect_error(self, namespace, data=None):
        self._push(namespace, 'connect_error', [data])

    def connect(self, namespaces, auth=None):
        self.sio.connect(self.url, auth=auth, transports=self.transports,
                         namespaces=namespaces, socketio_path='socket.io',
                         wait_timeout=TIMEOUT)
        return self

    def wait(self, namespace, event, count=1, timeout=TIMEOUT):
        """Waits for `count` entries of (namespace, event); returns the log
        up to and including the last of them."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                seen = [i for i, (n, e, _) in enumerate(self.log)
                        if n == namespace and e == event]
                if len(seen) >= count:
                    return self.log[:seen[count - 1] + 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f'{self.name}: only {len(seen)} of {count} '
                        f'{event!r} on {namespace} within {timeout} s; '
                        f'last entries: {summary(self.log[-5:])}')
                self.cond.wait(left)

    def events(self, namespace, event):
        with self.cond:
            return [a for n, e, a in self.log if n == namespace and e == event]

    def ack(self, event, data, namespace='/', timeout=TIMEOUT):
        """Emits with an ack callback; returns the ack's arguments (a list)."""
        got = []
        done = threading.Event()

        def callback(*args):
            got.append(list(args))
            done.set()

        self.sio.emit(event, data, namespace=namespace, callback=callback)
        if not done.wait(timeout):
            raise AssertionError(f'{self.name}: no ack for {event!r} within {timeout} s')
        return got[0]

    def close(self):
        try:
            self.sio.disconnect()
        except Exception:  # already gone
            pass
        self.inbox.put(None)


def summary(value, limit=200):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '…'


def check_equal(actual, expected, what):
    if actual != expected:
        raise AssertionError(f'{what}: got {summary(actual)}, expected {summary(expected)}')


ARGS = (
    'text',
    42,
    -1.5,
    True,
    None,
    ['list', 1, {'deep': [False]}],
    {'json': 'object', 'n': 7, 'nested': {'ok': True, 'list': [1, 2, 3], 'empty': {}}},
    b'\x00\x01\x02\x03\xfe\xff',
    {'binaryInside': b'in an object', 'list': [b'\x09', 'x', b'']},
)


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    url = sys.argv[1].rstrip('/')
    mode = sys.argv[2] if len(sys.argv) == 3 else 'upgrade'
    transports = {'polling': ['polling'], 'websocket': ['websocket'],
                  'upgrade': ['polling', 'websocket']}[mode]
    final = 'polling' if mode == 'polling' else 'websocket'
    peers = []

    def peer(name):
        p = Peer(name, url, transports)
        peers.append(p)
        return p

    def ok(name):
        print(f'ok {name}', flush=True)

    # Built before any client connects: the server pings every 300 ms and
    # drops a client whose pong is 200 ms late.
    text_500k = big_text(500_000)
    blob_500k = pattern(500_000)

    try:
        # -- connect with auth, on / and /custom over one connection
        auth = {'token': 'py-token', 'user': 'ünï 😀'}
        a = peer('A').connect(['/', '/custom'], auth=auth)
        check_equal(a.sio.transport(), final, 'transport')
        check_equal(a.wait('/', 'auth')[-1][2], [auth], 'auth seen by the server on /')
        check_equal(a.wait('/custom', 'auth')[-1][2], [auth], 'auth seen by the server on /custom')
        if not a.sio.get_sid('/') or a.sio.get_sid('/') == a.sio.get_sid('/custom'):
            raise AssertionError(f'socket ids: / {a.sio.get_sid("/")}, /custom {a.sio.get_sid("/custom")}')
        ok('connect-auth')

        # -- /custom answers on /custom only
        a.sio.emit('message', ('to custom',), namespace='/custom')
        a.sio.emit('message', ('to root',), namespace='/')
        check_equal(a.wait('/custom', 'message-back')[-1][2], ['to custom'], '/custom echo')
        check_equal(a.wait('/', 'message-back')[-1][2], ['to root'], '/ echo')
        check_equal(a.events('/', 'message-back'), [['to root']], 'what / got')
        check_equal(a.events('/custom', 'message-back'), [['to custom']], 'what /custom got')
        ok('namespace-custom')

        # -- `bye`: the server disconnects /custom, then /
        # (A goes now: an idle client of this process could miss a 200 ms
        # pong deadline while later checks keep the GIL busy)
        a.sio.emit('bye', namespace='/custom')
        # python-socketio's name for "io server disconnect"
        server_disconnect = socketio.Client.reason.SERVER_DISCONNECT
        check_equal(a.wait('/custom', 'disconnect')[-1][2], [server_disconnect],
                    'disconnect reason on /custom')
        a.sio.emit('message', 'root lives')
        check_equal(a.wait('/', 'message-back', count=2)[-1][2], ['root lives'], '/ after /custom left')
        a.sio.emit('bye')
        check_equal(a.wait('/', 'disconnect')[-1][2], [server_disconnect],
                    'disconnect reason on /')
        deadline = time.monotonic() + TIMEOUT
        while a.sio.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        if a.sio.connected:
            raise AssertionError('client still connected after bye on its last namespace')
        ok('server-disconnect')

        # -- an unknown namespace is refused
        refused = peer('refused')
        try:
            refused.connect(['/nope'])
        except socketio.exceptions.ConnectionError:
            pass
        else:
            raise AssertionError('connecting to /nope did not fail')
        check_equal(refused.wait('/nope', 'connect_error')[-1][2],
                    [{'message': 'Invalid namespace'}], 'connect_error for /nope')
        ok('namespace-refused')
        refused.close()

        # -- events with text, JSON and binary arguments
        b = peer('B').connect(['/'])
        b.sio.emit('message', ARGS)
        got = b.wait('/', 'message-back')[-1][2]
        check_equal(got, list(ARGS), 'message-back')
        if not isinstance(got[7], bytes):
            raise AssertionError(f'binary came back as {type(got[7])}')
        for one in (('only text',), ({'only': 'json'},), (b'\x07\x07\x07',)):
            b.sio.emit('message', one)
        back = b.wait('/', 'message-back', count=4)
        check_equal([x[2] for x in back[-3:]], [['only text'], [{'only': 'json'}], [b'\x07\x07\x07']],
                    'single arguments')
        ok('events-text-json-binary')

        # -- acks both ways
        check_equal(b.ack('message-with-ack', ARGS), list(ARGS), 'ack of message-with-ack')
        check_equal(b.ack('message-with-ack', 'one'), ['one'], 'ack with one value')
        b.sio.emit('ask', ('question', 'q1', {'x': 1}, b'\x04\x05'))
        answer = b.wait('/', 'answer')[-1][2]
        check_equal(b.asked, [['q1', {'x': 1}, b'\x04\x05']], 'what the server asked')
        check_equal(answer, ['reply', 'q1', {'got': 3}, b'\x01\x02\x03'], 'answer')
        ok('acks-both-ways')

        # -- rooms: `to` reaches the room, not the sender nor others; leave
        r = {name: peer(name).connect(['/']) for name in ('RA', 'RB', 'RC', 'RD')}
        for name, room in (('RA', 'r1'), ('RB', 'r1'), ('RD', 'r1'),
                           ('RB', 'b-only'), ('RC', 'c-only'), ('RD', 'd-only')):
            check_equal(r[name].ack('join', room), [True], f'{name} join {room}')
        ra, rb, rc, rd = r['RA'], r['RB'], r['RC'], r['RD']
        news = ['hello room', {'n': 1}, b'\x01\x02\x03']
        # The server handles RA's events in order: anything sent wrongly to
        # a peer arrives before that peer's fence.
        ra.sio.emit('to', ('r1', 'news', *news))
        ra.sio.emit('to', ('b-only', 'fence'))
        ra.sio.emit('to', ('c-only', 'fence'))
        ra.sio.emit('to', ('d-only', 'fence'))
        ra.sio.emit('message', 'a-fence')

        def entries(log):
            return [(e, a) for _, e, a in log if e not in ('connect', 'auth')]

        check_equal(entries(rb.wait('/', 'fence')), [('news', news), ('fence', [])], 'RB (in r1)')
        check_equal(entries(rd.wait('/', 'fence')), [('news', news), ('fence', [])], 'RD (in r1)')
        check_equal(entries(rc.wait('/', 'fence')), [('fence', [])], 'RC (not in r1)')
        check_equal(entries(ra.wait('/', 'message-back')), [('message-back', ['a-fence'])],
                    'RA (the sender)')
        check_equal(rb.ack('leave', 'r1'), [True], 'RB leave r1')
        ra.sio.emit('to', ('r1', 'news2', 'after leave'))
        ra.sio.emit('to', ('b-only', 'fence2'))
        ra.sio.emit('to', ('d-only', 'fence2'))
        check_equal(entries(rb.wait('/', 'fence2'))[2:], [('fence2', [])], 'RB after leaving')
        check_equal(entries(rd.wait('/', 'fence2'))[2:], [('news2', ['after leave']), ('fence2', [])],
                    'RD after RB left')
        ok('rooms')
        for p in r.values():
            p.close()

        # -- a burst of 1000 events arrives in order
        count = 1000
        before = len(b.events('/', 'message-back'))
        for i in range(count):
            if i % 100 == 99:
                b.sio.emit('message', (i, bytes([i & 0xFF, i >> 8])))
            else:
                b.sio.emit('message', (i, f'event {i}'))
        b.wait('/', 'message-back', count=before + count, timeout=30)
        got = b.events('/', 'message-back')[before:before + count]
        for i, args in enumerate(got):
            expected = [i, bytes([i & 0xFF, i >> 8])] if i % 100 == 99 else [i, f'event {i}']
            check_equal(args, expected, f'event {i} of the burst')
        ok('burst-1000-in-order')

        # -- 500 KB text and binary
        # one at a time: python-engineio puts everything queued into one
        # POST, and both together would pass the server's 1 MB limit
        for big in (text_500k, blob_500k):
            before = len(b.events('/', 'message-back'))
            b.sio.emit('message', big)
            b.wait('/', 'message-back', count=before + 1, timeout=20)
            got = b.events('/', 'message-back')[before]
            if got != [big]:
                raise AssertionError(f'500 KB {type(big).__name__} came back changed: '
                                     f'{type(got[0]).__name__} of {len(got[0])}')
        ok('message-500kb')

        # -- non-BMP text: arguments, keys, event names
        args = (NON_BMP, {'键😀': NON_BMP, 'list': ['𝄞', '👍🏽']}, '😀' * 5000)
        before = len(b.events('/', 'message-back'))
        b.sio.emit('message', args)
        b.wait('/', 'message-back', count=before + 1)
        check_equal(b.events('/', 'message-back')[before], list(args), 'non-BMP echo')
        check_equal(b.ack('message-with-ack', args), list(args), 'non-BMP ack')
        b.sio.emit('ask', ('ev-😀-𝄞', NON_BMP))
        check_equal(b.wait('/', 'ev-😀-𝄞')[-1][2], [NON_BMP], 'non-BMP event name')
        ok('non-bmp-text')

    except Exception:
        traceback.print_exc()
        sys.stdout.flush()
        return 1
    finally:
        for p in peers:
            p.close()
    print('all checks passed', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
