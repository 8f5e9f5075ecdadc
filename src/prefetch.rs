//! Software prefetch: ask the processor to bring a cache line in ahead of
//! use.
//!
//! The simulation evaluates a few thousand customers a day, each reading
//! its own rows and states scattered over a ledger of hundreds of
//! megabytes: most reads miss the cache, and an evaluation waits on them
//! one after the other. Asked for a few evaluations ahead
//! ([`crate::simulate`]'s day), they are in the cache when its turn comes.
//! A hint changes no value the program reads.

/// Bring the cache line holding `p` towards the CPU (no effect where the
/// target has no prefetch instruction). Never faults: any address will do.
#[inline(always)]
pub fn line<T>(p: *const T) {
    // SAFETY: a prefetch is a hint: it reads no memory the program sees and
    // never faults, whatever the address. Its only requirement is SSE, which
    // every x86_64 processor has (it is in the target's baseline).
    #[cfg(target_arch = "x86_64")]
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// [`line`] for every cache line of `*r`.
#[inline(always)]
pub fn all<T: ?Sized>(r: &T) {
    let p = (r as *const T).cast::<u8>();
    let mut off = 0;
    while off < std::mem::size_of_val(r) {
        line(p.wrapping_add(off));
        off += 64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hint never faults and changes nothing, whatever it is given: a
    /// value, a dangling or null pointer, an address past any allocation.
    #[test]
    fn asking_for_any_address_is_harmless() {
        let v = vec![7u64; 100];
        all(&v[..]);
        all(&[0u8; 0]);
        line(v.as_ptr().wrapping_add(1 << 40));
        line(std::ptr::null::<u8>());
        line(Vec::<u32>::new().as_ptr());
        assert_eq!(v.iter().sum::<u64>(), 700);
    }
}
