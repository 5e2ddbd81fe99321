import { lookupPath, placeholders, renderDeep, renderTemplate } from './template';

const B = { parent: { id: 'v 1', loc: { lat: 41.5, tags: ['a', 'b'] } }, window: { start: '2025-01-01' }, now: 'N' };

describe('rest templates', () => {
  it('replaces dotted paths with indexes, and missing values with nothing', () => {
    expect(renderTemplate('{{ parent.loc.lat }},{{parent.loc.tags[1]}}|{{ parent.nope }}|{{ window.start }}', B)).toBe(
      '41.5,b||2025-01-01',
    );
  });

  it('encodes values (not the template) when asked, e.g. in URL paths', () => {
    expect(renderTemplate('/venues/{{ parent.id }}/x', B, encodeURIComponent)).toBe('/venues/v%201/x');
  });

  it('renders objects as JSON and leaves text without placeholders alone', () => {
    expect(renderTemplate('{{ parent.loc }}', B)).toBe('{"lat":41.5,"tags":["a","b"]}');
    expect(renderTemplate('{ not a placeholder }', B)).toBe('{ not a placeholder }');
  });

  it('renders every string of a JSON body', () => {
    expect(renderDeep({ q: ['{{ now }}', 3], n: { at: '{{ window.start }}' } }, B)).toEqual({ q: ['N', 3], n: { at: '2025-01-01' } });
  });

  it('lists placeholders and looks up paths', () => {
    expect(placeholders('{{ a.b }}-{{c[0]}}')).toEqual(['a.b', 'c[0]']);
    expect(lookupPath(B, 'parent.loc.tags[0]')).toBe('a');
    expect(lookupPath(B, 'parent.id.x')).toBeUndefined();
  });
});
