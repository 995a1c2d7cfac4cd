import { describe, expect, it } from 'vitest';
import type { StatusMateEvent } from '../../src/domain/event.js';
import { parseWebhook } from '../../src/webhook/schema.js';

// README, "Titles and names": the latest sent (`meta.title`, else the top-level `text`). An empty
// or blank one is none: it must not turn a component's or incident's label into "".
const COMPONENT = '55555555-5555-4555-8555-555555555555';
const INCIDENT = '66666666-6666-4666-8666-666666666666';

function eventOf(body: unknown): StatusMateEvent {
  const parsed = parseWebhook(body, 'default');
  if (parsed.kind !== 'event') throw new Error(`not an event: ${JSON.stringify(parsed)}`);
  return parsed.event;
}

describe('an empty title or name', () => {
  it.each(['', '   '])('%j in meta.title gives way to the top-level text, for an incident and a component update', (title) => {
    const incident = eventOf({ text: 'Payments slow', meta: { uuid: INCIDENT, title, type: 'incident_created', affected_components: [] } });
    expect(incident.type === 'incident_created' && incident.title).toBe('Payments slow');
    const update = eventOf({ text: 'Payments', meta: { uuid: COMPONENT, title, type: 'component_impact_updated', impact: 'operational' } });
    expect(update.type === 'component_impact_updated' && update.name).toBe('Payments');
  });

  it('is no name at all when the text is empty too, so the name known before stays', () => {
    const update = eventOf({ text: '', meta: { uuid: COMPONENT, title: '', type: 'component_impact_updated', impact: 'operational' } });
    expect(update.type === 'component_impact_updated' && update.name).toBeNull();
  });

  it('in component_details.name sends no name for that component', () => {
    const incident = eventOf({
      text: 'Payments slow',
      meta: {
        uuid: INCIDENT,
        type: 'incident_created',
        affected_components: [{ impact: 'degraded_performance', component_details: { name: '', impact: 'degraded_performance', component_uuid: COMPONENT } }],
      },
    });
    expect(incident.type === 'incident_created' && incident.components[0]?.name).toBeNull();
  });

  it('leaves a title with text in it as sent, spaces and all', () => {
    const update = eventOf({ text: 'x', meta: { uuid: COMPONENT, title: ' API ', type: 'component_impact_updated', impact: 'operational' } });
    expect(update.type === 'component_impact_updated' && update.name).toBe(' API ');
  });
});
