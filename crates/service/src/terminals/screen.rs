//! A terminal's scrollback: the newest bytes it wrote, by absolute offset, bounded by
//! `limits.terminalScrollbackBytes`, so a client that (re)attaches gets the recent screen
//! and then live output with nothing lost in between, and is told how much fell out.

use std::collections::VecDeque;

/// The kept tail of a terminal's output.
#[derive(Debug)]
pub struct Scrollback {
    buf: VecDeque<u8>,
    /// Offset of `buf[0]` in everything the terminal wrote.
    start: u64,
    cap: usize,
}

/// What a reader at some offset gets next.
#[derive(Debug, PartialEq, Eq)]
pub struct Read {
    /// Bytes it missed because they are no longer kept (0: none).
    pub cut: u64,
    /// The bytes from where it is (or from the oldest kept).
    pub data: Vec<u8>,
    /// Where it is after them.
    pub next: u64,
}

impl Scrollback {
    /// Empty, keeping at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self { buf: VecDeque::new(), start: 0, cap: cap.max(1) }
    }

    /// Offset after the newest byte.
    pub fn end(&self) -> u64 {
        self.start + self.buf.len() as u64
    }

    /// Appends output, dropping the oldest past the cap.
    pub fn push(&mut self, bytes: &[u8]) {
        let bytes = if bytes.len() > self.cap {
            self.start += (self.buf.len() + bytes.len() - self.cap) as u64;
            self.buf.clear();
            &bytes[bytes.len() - self.cap..]
        } else {
            bytes
        };
        let over = (self.buf.len() + bytes.len()).saturating_sub(self.cap);
        self.buf.drain(..over);
        self.start += over as u64;
        self.buf.extend(bytes);
    }

    /// At most `max` bytes from `from`.
    pub fn read(&self, from: u64, max: usize) -> Read {
        let cut = self.start.saturating_sub(from);
        let at = from.max(self.start);
        let skip = (at - self.start) as usize;
        // Copied slice by slice (the ring's two halves), not byte by byte.
        let (a, b) = self.buf.as_slices();
        let mut data = Vec::with_capacity(max.min(self.buf.len() - skip));
        let (first, second) = if skip < a.len() { (&a[skip..], b) } else { (&b[skip - a.len()..], &[][..]) };
        data.extend_from_slice(&first[..first.len().min(max)]);
        let room = max - data.len();
        data.extend_from_slice(&second[..second.len().min(room)]);
        let next = at + data.len() as u64;
        Read { cut, data, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_bytes_and_says_what_fell_out() {
        let mut s = Scrollback::new(10);
        s.push(b"0123456789");
        s.push(b"abc");
        assert_eq!(s.end(), 13);
        let r = s.read(0, 100);
        assert_eq!((r.cut, r.data.as_slice(), r.next), (3, &b"3456789abc"[..], 13));
        let r = s.read(11, 100);
        assert_eq!((r.cut, r.data.as_slice(), r.next), (0, &b"bc"[..], 13));
        let r = s.read(5, 2);
        assert_eq!((r.cut, r.data.as_slice(), r.next), (0, &b"56"[..], 7));
        s.push(&[b'x'; 25]);
        assert_eq!(s.end(), 38);
        assert_eq!(s.read(0, 100).cut, 28);
        assert_eq!(s.read(0, 100).data, vec![b'x'; 10]);
    }
}
