import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const DAY = 86_400;

const PALETTE = ['#2563eb', '#16a34a', '#ea580c', '#9333ea', '#0891b2', '#dc2626', '#ca8a04', '#4b5563'];

export interface ChartSeries {
  label: string;
  values: Array<number | null>;
}

/**
 * A daily line chart (uPlot: small and fast). `days` are x positions in seconds; each series is
 * one line. Re-created when the data changes: the charts are small, it is cheaper than diffing.
 */
export function DailyChart(props: {
  days: number[];
  series: ChartSeries[];
  locale: string;
  height?: number;
  testId?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(320, el.clientWidth || 600);
    const options: uPlot.Options = {
      width,
      height: props.height ?? 220,
      series: [
        { label: '' },
        ...props.series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length],
          width: 2,
          points: { show: true, size: 5 },
        })),
      ],
      // Days are UTC midnights: label them as dates in UTC so no time zone shifts a day.
      axes: [
        {
          space: 50,
          incrs: [DAY, 2 * DAY, 7 * DAY, 14 * DAY],
          values: (_u, splits) =>
            splits.map((s) =>
              new Date(s * 1000).toLocaleDateString(props.locale, {
                day: '2-digit',
                month: '2-digit',
                timeZone: 'UTC',
              }),
            ),
        },
        { size: 50 },
      ],
      scales: { x: { time: false } },
      legend: { live: false },
    };
    const data = [props.days, ...props.series.map((s) => s.values)] as uPlot.AlignedData;
    const plot = new uPlot(options, data, el);
    const resize = () => plot.setSize({ width: Math.max(320, el.clientWidth), height: options.height });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [props.days, props.series, props.height, props.locale]);
  return <div className="chart" ref={box} data-testid={props.testId} />;
}
