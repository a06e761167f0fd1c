/**
 * A bounded map that forgets the least recently used entry first: what `key` maps to, made by
 * `make` on a miss and kept (a null result too, so that what cannot be made is not tried again).
 */
export function recentlyUsed<K, V>(map: Map<K, V>, key: K, max: number, make: () => V): V {
  if (map.has(key)) {
    const hit = map.get(key)!;
    // Most recently used last: the first entry is the one to evict.
    map.delete(key);
    map.set(key, hit);
    return hit;
  }
  const made = make();
  map.set(key, made);
  if (map.size > max) map.delete(map.keys().next().value!);
  return made;
}
