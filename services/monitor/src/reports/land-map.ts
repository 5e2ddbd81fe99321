/**
 * The plain base of map tiles: Natural Earth land polygons (1:110m, from the `world-atlas`
 * package) as GeoJSON, converted once. Shipped with the monitor, so maps need no tile server.
 */
import type { FeatureCollection } from 'geojson';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';

let cached: FeatureCollection | undefined;

/** The land polygons as a GeoJSON FeatureCollection. */
export function landGeoJson(): FeatureCollection {
  if (!cached) {
    // A JSON data file of the package, read once.
    const topo = require('world-atlas/land-110m.json') as Topology<{ land: GeometryCollection }>;
    cached = feature(topo, topo.objects.land) as FeatureCollection;
  }
  return cached;
}
