//! [`LazyBufReader`]: a read buffer that exists only while it holds data, so that an idle session costs a few
//! hundred bytes rather than tens of kilobytes (a thousand idle clients are a normal day for a proxy).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

/// Like `tokio::io::BufReader`, but the buffer is allocated when a read needs it (not zero-filled: only the bytes
/// read are touched) and released as soon as it is drained. Writes pass through to the inner stream.
#[derive(Debug)]
pub(crate) struct LazyBufReader<S> {
    inner: S,
    buf: BytesMut,
    capacity: usize,
}

impl<S> LazyBufReader<S> {
    /// Reads up to `capacity` bytes at a time.
    pub(crate) fn new(inner: S, capacity: usize) -> LazyBufReader<S> {
        LazyBufReader {
            inner,
            buf: BytesMut::new(),
            capacity,
        }
    }

    /// What is buffered and not yet consumed.
    pub(crate) fn buffer(&self) -> &[u8] {
        &self.buf
    }
}

impl<S: AsyncRead + Unpin> AsyncBufRead for LazyBufReader<S> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if this.buf.is_empty() {
            this.buf.reserve(this.capacity);
            ready!(tokio_util::io::poll_read_buf(
                Pin::new(&mut this.inner),
                cx,
                &mut this.buf
            ))?;
        }
        Poll::Ready(Ok(&this.buf[..]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        this.buf.advance(amt.min(this.buf.len()));
        if this.buf.is_empty() {
            // Released, not kept: the next read allocates again.
            this.buf = BytesMut::new();
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for LazyBufReader<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        // A read as large as the buffer, with nothing buffered, goes straight to the caller's memory.
        if self.buf.is_empty() && out.remaining() >= self.capacity {
            return Pin::new(&mut self.inner).poll_read(cx, out);
        }
        let available = ready!(self.as_mut().poll_fill_buf(cx))?;
        let n = available.len().min(out.remaining());
        out.put_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for LazyBufReader<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};

    use super::*;

    #[tokio::test]
    async fn reads_through_a_buffer_that_is_released_when_drained() {
        let data: Vec<u8> = (0..=255).cycle().take(10_000).collect();
        let mut reader = LazyBufReader::new(&data[..], 4096);
        assert_eq!(reader.buffer().len(), 0);
        let mut header = [0_u8; 4];
        reader.read_exact(&mut header).await.unwrap();
        assert_eq!(header, [0, 1, 2, 3]);
        assert_eq!(reader.buffer().len(), 4092, "the rest of the first fill is buffered");
        let rest = reader.fill_buf().await.unwrap().len();
        reader.consume(rest);
        assert_eq!(reader.buf.capacity(), 0, "drained: released");
        let mut all = Vec::new();
        reader.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, data[4096..]);
    }
}
