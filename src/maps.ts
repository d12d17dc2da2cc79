/** Small Map helpers shared by every layer. */

/** The value at `key`, made with `make` and stored first when the map has none. */
export function getOrCreate<K, V>(map: Map<K, V>, key: K, make: (key: K) => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make(key);
    map.set(key, v);
  }
  return v;
}
