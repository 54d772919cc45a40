//! Requests whose bodies were left unread: a response to one says `Connection: close`,
//! so that the client's next request does not go out on a connection hyper is about to
//! drop.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

/// Says `Connection: close` on a response sent before its request's body was read to
/// the end (an early 4xx, a `GET` or `DELETE` with a body): hyper does not read what a
/// handler left, and would otherwise close the connection without a word, so that the
/// client's next request on it fails. A request read to the end keeps its keep-alive.
#[derive(Clone)]
pub(crate) struct CloseUnread<S>(pub S);

impl<S, B> hyper::service::Service<hyper::Request<hyper::body::Incoming>> for CloseUnread<S>
where
    S: hyper::service::Service<hyper::Request<Tracked>, Response = hyper::Response<B>> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = hyper::Response<B>;
    type Error = S::Error;
    type Future = MarkUnread<S::Future>;

    fn call(&self, request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        use hyper::body::Body as _;
        let read = Arc::new(AtomicBool::new(request.body().is_end_stream()));
        let request = request.map(|body| Tracked { body, read: read.clone() });
        MarkUnread { response: self.0.call(request), read }
    }
}

pin_project_lite::pin_project! {
    /// [`CloseUnread`]'s response: the service's, with `Connection: close` when the
    /// request's body was left unread. Not boxed: it is one per request.
    pub(crate) struct MarkUnread<F> {
        #[pin]
        response: F,
        read: Arc<AtomicBool>,
    }
}

impl<F, B, E> Future for MarkUnread<F>
where
    F: Future<Output = Result<hyper::Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Poll::Ready(result) = this.response.poll(cx) else { return Poll::Pending };
        Poll::Ready(result.map(|mut response| {
            if !this.read.load(Ordering::Relaxed) {
                response
                    .headers_mut()
                    .insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
            }
            response
        }))
    }
}

/// A request body that notes when it has been read to the end.
pub(crate) struct Tracked {
    body: hyper::body::Incoming,
    read: Arc<AtomicBool>,
}

impl hyper::body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.body.is_end_stream() {
            self.read.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let end = self.body.is_end_stream();
        if end {
            self.read.store(true, Ordering::Relaxed);
        }
        end
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}
