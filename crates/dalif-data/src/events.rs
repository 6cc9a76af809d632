//! Address events from a neuromorphic sensor.

/// Events as parallel arrays, in file order: `t` in microseconds, `x` (column) and `y` (row)
/// with origin top-left, and polarity `p` (1 = ON, brightness up; 0 = OFF).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Events {
    /// Timestamps, in microseconds.
    pub t: Vec<u64>,
    /// Columns, from the left.
    pub x: Vec<u16>,
    /// Rows, from the top.
    pub y: Vec<u16>,
    /// Polarities: 1 = ON (brightness up), 0 = OFF.
    pub p: Vec<u8>,
}

impl Events {
    /// No events, with room for `n`.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            t: Vec::with_capacity(n),
            x: Vec::with_capacity(n),
            y: Vec::with_capacity(n),
            p: Vec::with_capacity(n),
        }
    }

    /// The number of events.
    pub fn len(&self) -> usize {
        self.t.len()
    }

    /// Whether there is no event.
    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }

    /// Appends the event `(t, x, y, p)`.
    pub fn push(&mut self, t: u64, x: u16, y: u16, p: u8) {
        self.t.push(t);
        self.x.push(x);
        self.y.push(y);
        self.p.push(p);
    }

    /// The events with `start <= t < end`, in order (a labelled window of a recording).
    pub fn window(&self, start: u64, end: u64) -> Events {
        let mut out = Events::default();
        for i in (0..self.len()).filter(|&i| (start..end).contains(&self.t[i])) {
            out.push(self.t[i], self.x[i], self.y[i], self.p[i]);
        }
        out
    }

    /// Sorts the events by timestamp, keeping file order among equal timestamps.
    pub fn sort_by_time(&mut self) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&i| self.t[i]);
        fn permute<T: Copy>(v: &[T], order: &[usize]) -> Vec<T> {
            order.iter().map(|&i| v[i]).collect()
        }
        self.t = permute(&self.t, &order);
        self.x = permute(&self.x, &order);
        self.y = permute(&self.y, &order);
        self.p = permute(&self.p, &order);
    }

    /// Whether timestamps never decrease.
    pub fn is_time_ordered(&self) -> bool {
        self.t.windows(2).all(|w| w[0] <= w[1])
    }
}
