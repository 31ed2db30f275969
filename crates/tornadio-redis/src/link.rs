//! The two connections to Redis and the tasks that own them: one publishes
//! (and answers commands), one subscribes. Each reconnects with backoff
//! when Redis goes away; neither ever stops local delivery.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use rand::Rng;
use redis::AsyncConnectionConfig;
use redis::aio::{MultiplexedConnection, PubSubSink};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, timeout};
use tracing::Instrument;

use crate::shared::{Control, Outgoing, Shared};

/// Longest wait for a connection or a reply from Redis.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);
/// How often an idle connection is checked with PING.
const HEALTH_CHECK: Duration = Duration::from_secs(1);
/// Most publishes sent as one pipeline.
const BATCH: usize = 256;

/// Reconnection delays: from 50 ms, doubling to 1 s, with jitter (node's
/// redis client retries within half a second).
struct Backoff {
    attempt: u32,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff { attempt: 0 }
    }

    fn next(&mut self) -> Duration {
        let base = 50u64.saturating_mul(1 << self.attempt.min(5)).min(1000);
        self.attempt = self.attempt.saturating_add(1);
        let jitter = rand::rng().random_range(base / 2..=base);
        Duration::from_millis(jitter)
    }

    fn failing(&self) -> bool {
        self.attempt > 0
    }
}

/// Starts both tasks, once, on the current tokio runtime. `false` when
/// there is none (they start on a later call from inside one).
pub(crate) fn start(shared: &Arc<Shared>) -> bool {
    if shared.started.load(Ordering::Acquire) {
        return true;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return false;
    };
    if shared.started.swap(true, Ordering::AcqRel) {
        return true;
    }
    let queue = shared.queue_rx.lock().ok().and_then(|mut q| q.take());
    let control = shared.control_rx.lock().ok().and_then(|mut c| c.take());
    if let (Some(queue), Some(control)) = (queue, control) {
        let span = tracing::info_span!("redis_adapter", uid = %shared.uid);
        let publishing = publisher(Arc::downgrade(shared), shared.client.clone(), queue);
        runtime.spawn(publishing.instrument(span.clone()));
        let subscribing = subscriber(Arc::downgrade(shared), shared.client.clone(), control);
        runtime.spawn(subscribing.instrument(span));
    }
    true
}

async fn command_connection(client: &redis::Client) -> redis::RedisResult<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(REDIS_TIMEOUT))
        .set_response_timeout(Some(REDIS_TIMEOUT));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// Waits `delay`, dropping (and counting) what is queued meanwhile.
/// `false` when the adapter is gone.
async fn discard_for(
    shared: &Weak<Shared>,
    queue: &mut mpsc::Receiver<Outgoing>,
    delay: Duration,
) -> bool {
    let until = Instant::now() + delay;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(until) => return shared.strong_count() > 0,
            message = queue.recv() => match (message, shared.upgrade()) {
                (Some(_), Some(shared)) => {
                    shared.dropped.fetch_add(1, Ordering::Relaxed);
                }
                _ => return false,
            },
        }
    }
}

/// Publishes what is queued, in order, batched into pipelines; answers
/// nothing itself but lends its connection to commands.
async fn publisher(
    shared: Weak<Shared>,
    client: redis::Client,
    mut queue: mpsc::Receiver<Outgoing>,
) {
    let mut backoff = Backoff::new();
    loop {
        let mut connection = match command_connection(&client).await {
            Ok(connection) => connection,
            Err(error) => {
                if !backoff.failing() {
                    tracing::warn!(%error, "Redis unreachable for publishing; retrying with backoff");
                }
                if !discard_for(&shared, &mut queue, backoff.next()).await {
                    return;
                }
                continue;
            }
        };
        let Some(strong) = shared.upgrade() else {
            return;
        };
        if backoff.failing() {
            let dropped = strong.dropped.swap(0, Ordering::Relaxed);
            tracing::info!(dropped, "publishing to Redis again");
        }
        backoff = Backoff::new();
        *lock(&strong.commands) = Some(connection.clone());
        drop(strong);
        let error = publish_until_error(&mut connection, &mut queue).await;
        let Some(strong) = shared.upgrade() else {
            return;
        };
        *lock(&strong.commands) = None;
        match error {
            Some(error) => {
                tracing::warn!(%error, "lost the Redis publishing connection; reconnecting")
            }
            None => return,
        }
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Publishes until the connection fails (`Some(error)`) or the queue
/// closes (`None`). Idle, it checks the connection with PING.
async fn publish_until_error(
    connection: &mut MultiplexedConnection,
    queue: &mut mpsc::Receiver<Outgoing>,
) -> Option<redis::RedisError> {
    loop {
        let first = tokio::select! {
            message = queue.recv() => message?,
            () = sleep(HEALTH_CHECK) => {
                if let Err(error) = redis::cmd("PING").query_async::<()>(connection).await {
                    return Some(error);
                }
                continue;
            }
        };
        let mut pipe = redis::pipe();
        pipe.publish(&first.channel, &first.payload).ignore();
        let mut count = 1;
        while count < BATCH {
            let Ok(next) = queue.try_recv() else {
                break;
            };
            pipe.publish(&next.channel, &next.payload).ignore();
            count += 1;
        }
        if let Err(error) = pipe.query_async::<()>(connection).await {
            return Some(error);
        }
    }
}

/// Subscribes to every namespace's channels, reads what other servers
/// send, and hands it to [`Shared::dispatch`]; resubscribes after a
/// reconnection.
async fn subscriber(
    shared: Weak<Shared>,
    client: redis::Client,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    let mut backoff = Backoff::new();
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let connected = timeout(REDIS_TIMEOUT, subscribe_all(&client, &strong)).await;
        drop(strong);
        let (mut sink, mut stream) = match connected {
            Ok(Ok(halves)) => halves,
            Ok(Err(error)) => {
                retry_later(&shared, &mut control, &mut backoff, &error.to_string()).await;
                if shared.strong_count() == 0 {
                    return;
                }
                continue;
            }
            Err(_) => {
                retry_later(&shared, &mut control, &mut backoff, "timed out").await;
                continue;
            }
        };
        let Some(strong) = shared.upgrade() else {
            return;
        };
        tracing::info!("subscribed to Redis");
        strong.subscribed.send_replace(true);
        drop(strong);
        backoff = Backoff::new();
        let gone = read(&shared, &mut sink, &mut stream, &mut control).await;
        if let Some(strong) = shared.upgrade() {
            strong.subscribed.send_replace(false);
        }
        if gone {
            return;
        }
        tracing::warn!("lost the Redis subscriber connection; reconnecting");
    }
}

/// Reads what other servers send and applies the adapter's subscription
/// requests, until the connection fails (`false`) or the adapter is gone
/// (`true`).
async fn read(
    shared: &Weak<Shared>,
    sink: &mut PubSubSink,
    stream: &mut redis::aio::PubSubStream,
    control: &mut mpsc::UnboundedReceiver<Control>,
) -> bool {
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else {
                    return false;
                };
                let Some(strong) = shared.upgrade() else {
                    return true;
                };
                strong.dispatch(message.get_channel_name(), message.from_pattern(), message.get_payload_bytes());
            }
            request = control.recv() => {
                let (Some(request), Some(strong)) = (request, shared.upgrade()) else {
                    return true;
                };
                if let Err(error) = apply(sink, &strong, request).await {
                    tracing::warn!(%error, "Redis subscription failed");
                    return false;
                }
            }
            () = sleep(HEALTH_CHECK) => {
                let ping = timeout(REDIS_TIMEOUT, sink.ping::<redis::Value>()).await;
                if !matches!(ping, Ok(Ok(_))) {
                    return false;
                }
            }
        }
    }
}

/// Logs the first failure of a run, then waits, keeping up with control
/// requests (the next connection subscribes to every namespace anyway).
async fn retry_later(
    shared: &Weak<Shared>,
    control: &mut mpsc::UnboundedReceiver<Control>,
    backoff: &mut Backoff,
    error: &str,
) {
    if !backoff.failing() {
        tracing::warn!(
            error,
            "Redis unreachable for subscribing; retrying with backoff"
        );
    }
    let until = Instant::now() + backoff.next();
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(until) => return,
            request = control.recv() => if request.is_none() || shared.strong_count() == 0 {
                return;
            },
        }
    }
}

async fn subscribe_all(
    client: &redis::Client,
    shared: &Shared,
) -> redis::RedisResult<(PubSubSink, redis::aio::PubSubStream)> {
    let (mut sink, stream) = client.get_async_pubsub().await?.split();
    for nsp in shared.namespace_names() {
        subscribe(&mut sink, shared, &nsp).await?;
    }
    Ok((sink, stream))
}

async fn subscribe(sink: &mut PubSubSink, shared: &Shared, nsp: &str) -> redis::RedisResult<()> {
    let channels = &shared.channels;
    sink.psubscribe(channels.broadcast_pattern(nsp)).await?;
    sink.subscribe(&[
        channels.request(nsp),
        channels.response(nsp),
        channels.response_for(nsp, &shared.uid),
    ])
    .await
}

async fn apply(sink: &mut PubSubSink, shared: &Shared, request: Control) -> redis::RedisResult<()> {
    let channels = &shared.channels;
    match request {
        Control::Subscribe(nsp) => timeout_redis(subscribe(sink, shared, &nsp)).await,
        Control::Unsubscribe(nsp) => {
            timeout_redis(sink.punsubscribe(channels.broadcast_pattern(&nsp))).await?;
            timeout_redis(sink.unsubscribe(&[
                channels.request(&nsp),
                channels.response(&nsp),
                channels.response_for(&nsp, &shared.uid),
            ]))
            .await
        }
    }
}

async fn timeout_redis(
    future: impl Future<Output = redis::RedisResult<()>>,
) -> redis::RedisResult<()> {
    match timeout(REDIS_TIMEOUT, future).await {
        Ok(result) => result,
        Err(_) => Err(redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "Redis did not confirm a subscription",
        ))),
    }
}
