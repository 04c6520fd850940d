/** The handlers' metrics flush: recorded metrics are published, and an invocation that recorded none is silent. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { metrics, publishMetrics } from '../../lambda/handlers/powertools';

test('publishes what an invocation recorded, and warns of nothing when it recorded nothing', () => {
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  const publish = jest.spyOn(metrics, 'publishStoredMetrics');
  try {
    const clearDimensions = jest.spyOn(metrics, 'clearDimensions');
    const clearMetadata = jest.spyOn(metrics, 'clearMetadata');
    publishMetrics();
    expect(publish).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
    // Cleared for the next invocation all the same, as publishStoredMetrics would have.
    expect(clearDimensions).toHaveBeenCalledTimes(1);
    expect(clearMetadata).toHaveBeenCalledTimes(1);
    // Without the guard, Powertools warns on every such invocation (as the soak test printed, batch after batch).
    metrics.publishStoredMetrics();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/No application metrics to publish/));
    publish.mockClear();

    metrics.addMetric('filesRead', MetricUnit.Count, 1);
    publishMetrics();
    expect(publish).toHaveBeenCalledTimes(1);
    expect(metrics.hasStoredMetrics()).toBe(false);
  } finally {
    jest.restoreAllMocks();
  }
});
