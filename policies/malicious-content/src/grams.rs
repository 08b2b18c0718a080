//! Proof of absence for long values: which byte n-grams a text contains, so that a search for
//! needles the text cannot contain returns at once instead of walking the text.
//!
//! Detectors run dozens of needle-list searches over each value. On a 64 KiB value every one of
//! them is a full pass, although on benign text nearly all find nothing. [`with_index`] builds,
//! once per long value, bit sets of the 1-, 2- and 3-byte sequences it contains, ASCII case
//! folded; a needle whose n-grams are not all present cannot occur, in the value or in any
//! slice of it. A hashed bit may be shared by two n-grams, so the index only ever says
//! "absent" or "maybe": a search it cannot rule out runs exactly as before, and results never
//! change.

use std::cell::RefCell;
use std::rc::Rc;

/// Texts shorter than this get the light [`Pairs`] filter instead: the full index would cost
/// more than it saves.
pub const MIN_LEN: usize = 256;

/// Shorter texts are searched directly: even the light filter would cost more than it saves.
const PAIRS_MIN_LEN: usize = 8;

const WORDS: usize = (1 << 16) / 64;

/// The n-grams of one text.
pub struct Grams {
    one: [u64; 4],
    two: Box<[u64; WORDS]>,
    three: Box<[u64; WORDS]>,
}

#[inline(always)]
fn set(bits: &mut [u64], k: usize) {
    bits[k >> 6] |= 1 << (k & 63);
}

#[inline(always)]
fn get(bits: &[u64], k: usize) -> bool {
    bits[k >> 6] >> (k & 63) & 1 != 0
}

/// ASCII lower case by table: one load per byte instead of a compare and a select, in the
/// loop that reads every byte of every long value.
static LOWER: [u8; 256] = {
    let mut t = [0; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).to_ascii_lowercase();
        i += 1;
    }
    t
};

/// 16-bit hash of a 3-byte window (the low three bytes of `w`).
#[inline(always)]
fn hash(w: u32) -> usize {
    (w.wrapping_mul(0x9E37_79B1) >> 16) as usize
}

impl Grams {
    /// Index `text`, ASCII case folded (so one index serves a value and its lower-case form):
    /// one pass, two bit sets; the byte set is read off the pair set at the end.
    pub fn new(text: &[u8]) -> Self {
        let mut g = Grams {
            one: [0; 4],
            two: Box::new([0; WORDS]),
            three: Box::new([0; WORDS]),
        };
        // `w` holds the last bytes, the newest lowest. The first windows are short: their
        // partial n-grams are extra bits, which can only make the index say "maybe".
        let mut w: u32 = 0;
        for &b in text {
            w = w << 8 | u32::from(LOWER[usize::from(b)]);
            set(&mut g.two[..], (w & 0xffff) as usize);
            set(&mut g.three[..], hash(w & 0xff_ffff));
        }
        // Every byte ends a pair (the first one after a 0): a byte is present when its
        // column of the pair set has a bit.
        for row in g.two.chunks_exact(4) {
            for (one, bits) in g.one.iter_mut().zip(row) {
                *one |= bits;
            }
        }
        g
    }

    /// False only when `needle` certainly does not occur in the text (nor in any slice of it),
    /// in any ASCII case.
    pub fn may_contain(&self, needle: &[u8]) -> bool {
        let low = |i: usize| usize::from(needle[i].to_ascii_lowercase());
        match needle.len() {
            0 => true,
            1 => get(&self.one, low(0)),
            2 => get(&self.two[..], low(0) << 8 | low(1)),
            // Longer needles: every 3-byte window must be there.
            _ => needle.windows(3).all(|w| {
                let w = u32::from_be_bytes([0, w[0], w[1], w[2]].map(|b| b.to_ascii_lowercase()));
                get(&self.three[..], hash(w))
            }),
        }
    }
}

/// The light filter of a short value (a JSON field, a header, a query parameter): which
/// bytes and which byte pairs it holds, exactly (not case folded), the pairs hashed into 1024
/// bits by [`pair_key`]. Detectors search every value for dozens of needle lists; on a short
/// value most searches are ruled out by a needle list's first pairs, without a pass.
pub struct Pairs {
    bytes: [u64; 4],
    pairs: [u64; PAIR_WORDS],
}

/// Bits of a pair set (4096 measured slower: more to clear and to compare per list).
const PAIR_BITS: usize = 1024;
/// Words of a pair set.
pub const PAIR_WORDS: usize = PAIR_BITS / 64;

/// The 10-bit key of a byte pair (`b` is 0 after a text's last byte). Needle lists' filters
/// ([`crate::text::find_any`]) key their needles' first two bytes the same way.
#[inline(always)]
pub fn pair_key(a: u8, b: u8) -> usize {
    (usize::from(a) << 3 ^ usize::from(b)) & (PAIR_BITS - 1)
}

impl Pairs {
    fn new(text: &[u8]) -> Self {
        let mut p = Pairs {
            bytes: [0; 4],
            pairs: [0; PAIR_WORDS],
        };
        for (i, &a) in text.iter().enumerate() {
            let b = text.get(i + 1).copied().unwrap_or(0);
            set(&mut p.bytes, usize::from(a));
            set(&mut p.pairs, pair_key(a, b));
        }
        p
    }

    /// Whether the text (or a slice of it) may hold byte `a`.
    pub fn has_byte(&self, a: u8) -> bool {
        get(&self.bytes, usize::from(a))
    }

    /// Whether the text (or a slice of it) may hold a pair keyed `key` ([`pair_key`]).
    pub fn has_pair_key(&self, key: usize) -> bool {
        get(&self.pairs, key)
    }

    /// The pair set's words, to intersect with a needle list's first pairs.
    pub fn pair_words(&self) -> &[u64; PAIR_WORDS] {
        &self.pairs
    }

    /// The byte set's words.
    pub fn byte_words(&self) -> &[u64; 4] {
        &self.bytes
    }

    /// False only when `needle` certainly does not occur in the text, nor in a slice of it.
    fn may_contain(&self, needle: &[u8]) -> bool {
        match *needle {
            [] => true,
            [a] => self.has_byte(a),
            [a, b, ..] => self.has_pair_key(pair_key(a, b)),
        }
    }
}

/// An indexed text, by address: valid while its owner (a [`with_index`] borrow or an
/// [`Indexed`] string) keeps the text alive and unchanged.
struct Entry {
    start: usize,
    end: usize,
    grams: Rc<Grams>,
    /// Registered by a [`with_index`] scope (so it outlives every detector call inside it).
    scoped: bool,
}

/// The whitespace-free form of a scope's text (see [`without_whitespace`]): `None` when the
/// text has no whitespace, else the string and its own index range.
struct Squeezed {
    source: Range,
    text: Option<(Rc<str>, Option<Range>)>,
}

/// A registered text's address range.
type Range = (usize, usize);

#[cfg(test)]
thread_local! {
    /// Tests turn the index off to check that it changes no result.
    pub(crate) static ENABLED: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

#[cfg(test)]
fn enabled() -> bool {
    ENABLED.with(std::cell::Cell::get)
}

#[cfg(not(test))]
#[inline(always)]
fn enabled() -> bool {
    true
}

thread_local! {
    static INDEXED: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    /// The short texts of the open [`with_index`] scopes, with their light filters.
    static SHORT: RefCell<Vec<(Range, Pairs)>> = const { RefCell::new(Vec::new()) };
    static SQUEEZED: RefCell<Vec<Squeezed>> = const { RefCell::new(Vec::new()) };
}

fn range_of(text: &str) -> (usize, usize) {
    (text.as_ptr() as usize, text.as_ptr() as usize + text.len())
}

/// Index `text` if it is long; returns its address range when it was.
fn register(text: &str) -> Option<(usize, usize)> {
    register_with(text, false, None)
}

/// Register `text`, reusing `grams` when given (it must index `text` up to ASCII case).
fn register_with(text: &str, scoped: bool, grams: Option<Rc<Grams>>) -> Option<(usize, usize)> {
    if text.len() < MIN_LEN || !enabled() {
        return None;
    }
    let grams = grams.unwrap_or_else(|| Rc::new(Grams::new(text.as_bytes())));
    let (start, end) = range_of(text);
    INDEXED.with(|r| {
        r.borrow_mut().push(Entry {
            start,
            end,
            grams,
            scoped,
        })
    });
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
struct Scope {
    long: Vec<Range>,
    short: Vec<Range>,
}

impl Drop for Scope {
    fn drop(&mut self) {
        for range in self.long.drain(..) {
            // The shared derived form goes first: its string is freed only once unregistered.
            let squeezed = SQUEEZED.with(|s| {
                let mut s = s.borrow_mut();
                s.iter()
                    .rposition(|q| q.source == range)
                    .map(|i| s.swap_remove(i))
            });
            if let Some(Squeezed {
                text: Some((_, Some(own))),
                ..
            }) = squeezed
            {
                unregister(own);
            }
            unregister(range);
        }
        SHORT.with(|s| {
            let mut s = s.borrow_mut();
            for range in self.short.drain(..) {
                if let Some(i) = s.iter().rposition(|(r, _)| *r == range) {
                    s.swap_remove(i);
                }
            }
        });
    }
}

/// Run `f` with the long ones of `texts` indexed and the short ones filtered ([`Pairs`]).
/// Searches whose haystack lies inside one of them (the text itself or a slice of it)
/// consult the index or the filter. Sound because `texts` stay borrowed, so neither freed
/// nor changed, until `f` returns and the entries are dropped.
pub fn with_index<R>(texts: &[&str], f: impl FnOnce() -> R) -> R {
    let mut scope = Scope {
        long: Vec::with_capacity(texts.len()),
        short: Vec::new(),
    };
    for (i, t) in texts.iter().enumerate() {
        if t.len() < MIN_LEN {
            if t.len() >= PAIRS_MIN_LEN && enabled() {
                let range = range_of(t);
                SHORT.with(|s| s.borrow_mut().push((range, Pairs::new(t.as_bytes()))));
                scope.short.push(range);
            }
            continue;
        }
        // A value's lower-case form has the same (case-folded) index as the value.
        let twin = texts[..i]
            .iter()
            .find(|o| o.len() == t.len() && o.eq_ignore_ascii_case(t))
            .and_then(|o| covering(o));
        scope.long.extend(register_with(t, true, twin));
    }
    let out = f();
    drop(scope);
    out
}

/// Run `f` on the light filter covering the short `hay`, if any.
pub fn with_pairs<R>(hay: &str, f: impl FnOnce(&Pairs) -> R) -> Option<R> {
    if hay.len() >= MIN_LEN {
        return None;
    }
    let (start, end) = range_of(hay);
    SHORT.with(|s| {
        s.borrow()
            .iter()
            .find(|((s, e), _)| *s <= start && end <= *e)
            .map(|(_, p)| f(p))
    })
}

/// A string derived inside a detector (decoded, folded, squeezed), indexed for as long as it
/// lives. It is read-only: the index stays true to it, and it is dropped from the index before
/// its buffer is freed.
pub struct Indexed<'a> {
    range: Option<(usize, usize)>,
    text: Text<'a>,
}

enum Text<'a> {
    Borrowed(&'a str),
    Owned(String),
    /// Owned and indexed by a [`with_index`] scope, which outlives this value.
    Shared(Rc<str>),
}

impl<'a> Indexed<'a> {
    /// `from` itself, for a derivation that would change nothing.
    pub fn unchanged(from: &'a str) -> Self {
        Indexed {
            range: None,
            text: Text::Borrowed(from),
        }
    }

    /// `derived` computed from `from`: when nothing changed, searches go to `from` (indexed
    /// already if it is a detector's input) instead of indexing a copy.
    pub fn derived(from: &'a str, derived: String) -> Self {
        if derived == from {
            return Indexed::unchanged(from);
        }
        Indexed {
            range: register(&derived),
            text: Text::Owned(derived),
        }
    }
}

impl std::ops::Deref for Indexed<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match &self.text {
            Text::Borrowed(s) => s,
            Text::Owned(s) => s,
            Text::Shared(s) => s,
        }
    }
}

/// `text` without its whitespace (`char::is_whitespace`): the form in which detectors look
/// for code that spaces may split (`document . cookie`, `while (1)`). For a text of a
/// [`with_index`] scope it is built and indexed once, then shared by every detector that asks
/// until the scope ends; other texts get a fresh copy.
pub fn without_whitespace(text: &str) -> Indexed<'_> {
    // No byte that starts a whitespace char (ASCII, or the lead byte of a Unicode space):
    // nothing to remove, and no copy to make.
    if !has_any_byte(text, b"\t\n\x0b\x0c\r \xc2\xe1\xe2\xe3") {
        return Indexed::unchanged(text);
    }
    let build = || crate::text::remove_chars(text, char::is_whitespace);
    let range = range_of(text);
    let in_scope = text.len() >= MIN_LEN
        && INDEXED.with(|r| {
            r.borrow()
                .iter()
                .any(|e| e.scoped && (e.start, e.end) == range)
        });
    if !in_scope {
        return Indexed::derived(text, build());
    }
    let cached = SQUEEZED.with(|s| {
        s.borrow()
            .iter()
            .find(|q| q.source == range)
            .map(|q| q.text.as_ref().map(|(t, _)| t.clone()))
    });
    let shared = match cached {
        Some(shared) => shared,
        None => {
            let squeezed = build();
            let text_and_range = (squeezed != text).then(|| {
                let rc: Rc<str> = Rc::from(squeezed);
                let own = register(&rc);
                (rc, own)
            });
            let shared = text_and_range.as_ref().map(|(t, _)| t.clone());
            SQUEEZED.with(|s| {
                s.borrow_mut().push(Squeezed {
                    source: range,
                    text: text_and_range,
                })
            });
            shared
        }
    };
    Indexed {
        range: None,
        text: shared.map_or(Text::Borrowed(text), Text::Shared),
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

/// Whether `hay` holds any of the bytes in `set` (for ASCII bytes, what `str::contains` with
/// an array of chars says). From the index's byte set when `hay` is indexed and none occurs,
/// else one pass.
pub fn has_any_byte(hay: &str, set: &[u8]) -> bool {
    if covering(hay).is_some_and(|g| !set.iter().any(|&b| g.may_contain(&[b])))
        || with_pairs(hay, |p| !set.iter().any(|&b| p.has_byte(b))) == Some(true)
    {
        return false;
    }
    let h = hay.as_bytes();
    match *set {
        [] => false,
        [a] => memchr::memchr(a, h).is_some(),
        [a, b] => memchr::memchr2(a, b, h).is_some(),
        [a, b, c] => memchr::memchr3(a, b, c, h).is_some(),
        _ => {
            let mut table = [false; 256];
            for &b in set {
                table[usize::from(b)] = true;
            }
            h.iter().any(|&b| table[usize::from(b)])
        }
    }
}

/// True when `hay` is indexed or filtered and none of `needles` can occur in it.
pub fn none_in<'n>(hay: &str, needles: impl IntoIterator<Item = &'n str>) -> bool {
    if hay.len() < MIN_LEN {
        return with_pairs(hay, |p| {
            needles.into_iter().all(|n| !p.may_contain(n.as_bytes()))
        }) == Some(true);
    }
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
        // Case-folded: one index serves a value and its lower-case form.
        let mixed = "Lorem IPSUM <B>Union</B> SeLeCt 1;".repeat(40);
        let g = Grams::new(mixed.as_bytes());
        for n in [
            "ipsum",
            "IPSUM",
            "union</b>",
            "select",
            "SELECT 1",
            "l",
            "L",
        ] {
            assert!(g.may_contain(n.as_bytes()), "{n}");
        }
        assert!(!g.may_contain(b"<script") && !g.may_contain(b"Z"));
    }

    #[test]
    fn short_values_filter_never_rules_out_what_is_there() {
        let text = "user3@Example.com?x=1";
        with_index(&[text], || {
            for i in 0..text.len() {
                for len in 1..=6 {
                    if let Some(n) = text.get(i..i + len) {
                        assert!(!none_in(text, [n]), "{n:?}");
                        assert!(!none_in(&text[i..], [n]), "{n:?} in a slice");
                    }
                }
                assert!(has_any_byte(text, &[text.as_bytes()[i]]));
            }
            // Exact bytes: the filter is not case folded, and absent pairs are ruled out.
            assert!(none_in(text, ["<script", "EX", "zz"]));
            assert!(!has_any_byte(text, b"<|"));
        });
        assert!(!none_in(text, ["zz"]), "dropped with the scope");
    }

    #[test]
    fn byte_sets_are_exact_with_or_without_an_index() {
        let long = "lorem ipsum dolor sit amet. ".repeat(50);
        for text in [long.as_str(), "short (value)"] {
            with_index(&[text], || {
                for set in [&b"("[..], b"x.", b"<>\"'", b"\n\r", b"@"] {
                    let expected =
                        text.contains(|c: char| c.is_ascii() && set.contains(&(c as u8)));
                    assert_eq!(has_any_byte(text, set), expected, "{set:?} in {text:.20}");
                }
            });
        }
    }

    #[test]
    fn the_whitespace_free_form_is_built_once_per_scope_and_is_right() {
        let long = "document . cookie\tand\u{a0}more ".repeat(60);
        let expected: String = long.chars().filter(|c| !c.is_whitespace()).collect();
        let outside = without_whitespace(&long);
        assert_eq!(&*outside, expected);
        with_index(&[&long], || {
            let a = without_whitespace(&long);
            let b = without_whitespace(&long);
            assert_eq!(&*a, expected);
            assert_eq!(a.as_ptr(), b.as_ptr(), "shared, not rebuilt");
            assert!(
                none_in(&a, ["zz"]) && !none_in(&a, ["document.cookie"]),
                "indexed"
            );
        });
        assert!(
            SQUEEZED.with(|s| s.borrow().is_empty()),
            "dropped with the scope"
        );
        let spaceless = "x".repeat(2000);
        with_index(&[&spaceless], || {
            assert_eq!(without_whitespace(&spaceless).as_ptr(), spaceless.as_ptr());
        });
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
