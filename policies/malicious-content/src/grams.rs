//! Proof of absence for long values: which byte n-grams a text contains, so that a search for
//! needles the text cannot contain returns at once instead of walking the text.
//!
//! Detectors run dozens of needle-list searches over each value. On a 64 KiB value every one of
//! them is a full pass, although on benign text nearly all find nothing. [`with_index`] builds,
//! once per long value, bit sets of the 1-, 2- and 4-byte sequences it contains; a needle
//! whose n-grams are not all present cannot occur, in the value or in any slice of it. A hashed
//! bit may be shared by two n-grams, so the index only ever says "absent" or "maybe": a search
//! it cannot rule out runs exactly as before, and results never change.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

/// Texts shorter than this are searched directly: the index would cost more than it saves.
pub const MIN_LEN: usize = 1024;

const WORDS: usize = (1 << 16) / 64;

/// The n-grams of one text.
pub struct Grams {
    one: [u64; 4],
    two: Box<[u64; WORDS]>,
    four: Box<[u64; WORDS]>,
}

#[inline(always)]
fn set(bits: &mut [u64], k: usize) {
    bits[k >> 6] |= 1 << (k & 63);
}

#[inline(always)]
fn get(bits: &[u64], k: usize) -> bool {
    bits[k >> 6] >> (k & 63) & 1 != 0
}

/// 16-bit hash of a 4-byte window.
#[inline(always)]
fn hash(w: u32) -> usize {
    (w.wrapping_mul(0x9E37_79B1) >> 16) as usize
}

impl Grams {
    /// Index `text`: one pass, three bit sets.
    pub fn new(text: &[u8]) -> Self {
        let mut g = Grams {
            one: [0; 4],
            two: Box::new([0; WORDS]),
            four: Box::new([0; WORDS]),
        };
        // `w` holds the last four bytes, the newest lowest. The first three windows are short:
        // their partial 4-grams are extra bits, which can only make the index say "maybe".
        let mut w: u32 = 0;
        for &b in text {
            w = w << 8 | u32::from(b);
            set(&mut g.one, usize::from(b));
            set(&mut g.two[..], (w & 0xffff) as usize);
            set(&mut g.four[..], hash(w));
        }
        g
    }

    /// False only when `needle` certainly does not occur in the text (nor in any slice of it).
    pub fn may_contain(&self, needle: &[u8]) -> bool {
        match *needle {
            [] => true,
            [a] => get(&self.one, usize::from(a)),
            [a, b] => get(&self.two[..], usize::from(a) << 8 | usize::from(b)),
            [a, b, c] => {
                get(&self.two[..], usize::from(a) << 8 | usize::from(b))
                    && get(&self.two[..], usize::from(b) << 8 | usize::from(c))
            }
            _ => needle.windows(4).all(|w| {
                get(
                    &self.four[..],
                    hash(u32::from_be_bytes([w[0], w[1], w[2], w[3]])),
                )
            }),
        }
    }
}

/// An indexed text, by address: valid while its owner (a [`with_index`] borrow or an
/// [`Indexed`] string) keeps the text alive and unchanged.
struct Entry {
    start: usize,
    end: usize,
    grams: Rc<Grams>,
}

thread_local! {
    static INDEXED: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// Index `text` if it is long; returns its address range when it was.
fn register(text: &str) -> Option<(usize, usize)> {
    if text.len() < MIN_LEN {
        return None;
    }
    let grams = Rc::new(Grams::new(text.as_bytes()));
    let (start, end) = (text.as_ptr() as usize, text.as_ptr() as usize + text.len());
    INDEXED.with(|r| r.borrow_mut().push(Entry { start, end, grams }));
    Some((start, end))
}

/// Forget the entry of exactly this range (by identity: owners may drop in any order).
fn unregister((start, end): (usize, usize)) {
    INDEXED.with(|r| {
        let mut r = r.borrow_mut();
        if let Some(i) = r.iter().rposition(|e| e.start == start && e.end == end) {
            r.swap_remove(i);
        }
    });
}

/// Forgets a [`with_index`] scope's entries, also when a detector panics (native tests unwind).
struct Scope(Vec<(usize, usize)>);

impl Drop for Scope {
    fn drop(&mut self) {
        for range in self.0.drain(..) {
            unregister(range);
        }
    }
}

/// Run `f` with the long ones of `texts` indexed. Searches whose haystack lies inside one of
/// them (the text itself or a slice of it) consult the index. Sound because `texts` stay
/// borrowed, so neither freed nor changed, until `f` returns and the entries are dropped.
pub fn with_index<R>(texts: &[&str], f: impl FnOnce() -> R) -> R {
    let scope = Scope(texts.iter().filter_map(|t| register(t)).collect());
    let out = f();
    drop(scope);
    out
}

/// A string derived inside a detector (decoded, folded, squeezed), indexed for as long as it
/// lives. It is read-only: the index stays true to it, and it is dropped from the index before
/// its buffer is freed.
pub struct Indexed<'a> {
    range: Option<(usize, usize)>,
    text: Cow<'a, str>,
}

impl<'a> Indexed<'a> {
    /// `derived` computed from `from`: when nothing changed, searches go to `from` (indexed
    /// already if it is a detector's input) instead of indexing a copy.
    pub fn derived(from: &'a str, derived: String) -> Self {
        if derived == from {
            return Indexed {
                range: None,
                text: Cow::Borrowed(from),
            };
        }
        Indexed {
            range: register(&derived),
            text: Cow::Owned(derived),
        }
    }
}

impl std::ops::Deref for Indexed<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl Drop for Indexed<'_> {
    fn drop(&mut self) {
        if let Some(range) = self.range {
            unregister(range);
        }
    }
}

/// The index covering `hay`, if any.
fn covering(hay: &str) -> Option<Rc<Grams>> {
    if hay.len() < MIN_LEN {
        return None;
    }
    let (start, end) = (hay.as_ptr() as usize, hay.as_ptr() as usize + hay.len());
    INDEXED.with(|r| {
        r.borrow()
            .iter()
            .find(|e| e.start <= start && end <= e.end)
            .map(|e| e.grams.clone())
    })
}

/// True when `hay` is indexed and none of `needles` can occur in it.
pub fn none_in<'n>(hay: &str, needles: impl IntoIterator<Item = &'n str>) -> bool {
    covering(hay).is_some_and(|g| needles.into_iter().all(|n| !g.may_contain(n.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_rules_out_what_is_there() {
        let text = "lorem ipsum dolor sit amet, <b>union</b> select 1;".repeat(40);
        let g = Grams::new(text.as_bytes());
        for i in 0..text.len() {
            for len in 1..=8 {
                if let Some(n) = text.get(i..i + len) {
                    assert!(g.may_contain(n.as_bytes()), "{n:?}");
                }
            }
        }
        for absent in ["<script", "|", "../", "jndi:", "xp_cmdshell"] {
            assert!(!g.may_contain(absent.as_bytes()), "{absent}");
        }
    }

    #[test]
    fn only_inside_the_scope_and_the_text() {
        let long = "a".repeat(2000) + "needle";
        let other = "b".repeat(2000);
        assert!(!none_in(&long, ["zz"]), "not indexed outside the scope");
        with_index(&[&long], || {
            assert!(none_in(&long, ["zz", "<s"]));
            assert!(!none_in(&long, ["zz", "needle"]));
            assert!(none_in(&long[100..1500], ["zz"]), "slices are covered");
            assert!(!none_in(&other, ["zz"]), "other texts are not");
        });
        assert!(!none_in(&long, ["zz"]), "entries dropped with the scope");
        let owned = Indexed::derived("", long.clone());
        assert!(none_in(&owned, ["zz"]) && !none_in(&owned, ["needle"]));
        let inner = with_index(&[&other], || {
            assert!(none_in(&owned, ["zz"]) && none_in(&other, ["zz"]));
            drop(owned); // out of order: the scope's own entry must survive it
            none_in(&other, ["zz"])
        });
        assert!(inner && !none_in(&other, ["zz"]));
        let same = Indexed::derived(&other, other.clone());
        assert_eq!(
            same.as_ptr(),
            other.as_ptr(),
            "unchanged: the original is searched"
        );
    }
}
