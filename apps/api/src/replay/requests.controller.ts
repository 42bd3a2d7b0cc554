import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import {
  CAUSES,
  REQUEST_SORTS,
  SORT_ORDERS,
  type CompareDto,
  type RequestListDto,
  type RequestStatsDto,
} from '@threadreel/model';
import { ReplayReader } from '@threadreel/store';
import { int, millisAsNanos, nonNegativeNanos, oneOf, requiredTraceId, text, uuid } from './params.js';
import { ReplayService } from './replay.service.js';

const MAX_LIMIT = 500;

@ApiTags('requests')
@Controller('api/requests')
export class RequestsController {
  constructor(
    private readonly reader: ReplayReader,
    private readonly replay: ReplayService,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Requests (server or root spans) with their cause breakdown, filtered, sorted and paged',
    description:
      'Reads only the requests table. Times and durations are integer ns as strings. q matches a trace id prefix or text in the route or name.',
  })
  @ApiQuery({ name: 'capture', required: false, description: 'capture uuid' })
  @ApiQuery({ name: 'service', required: false })
  @ApiQuery({ name: 'route', required: false })
  @ApiQuery({ name: 'minDurationMs', required: false })
  @ApiQuery({ name: 'maxDurationMs', required: false })
  @ApiQuery({ name: 'minNs', required: false })
  @ApiQuery({ name: 'maxNs', required: false })
  @ApiQuery({ name: 'cause', required: false, enum: [...CAUSES, 'unknown'] })
  @ApiQuery({ name: 'q', required: false })
  @ApiQuery({ name: 'sort', required: false, enum: REQUEST_SORTS })
  @ApiQuery({ name: 'order', required: false, enum: SORT_ORDERS })
  @ApiQuery({ name: 'limit', required: false, description: `1..${MAX_LIMIT}, default 50` })
  @ApiQuery({ name: 'offset', required: false })
  @ApiOkResponse({
    description:
      '{ total, rows: [{ captureId, traceId, spanId, service, route, name, startNs, endNs, durationNs, dominantCause, breakdown, sampleCount, sparse }] }',
  })
  async list(@Query() query: Record<string, unknown>): Promise<RequestListDto> {
    const minMs = millisAsNanos('minDurationMs', query.minDurationMs);
    const maxMs = millisAsNanos('maxDurationMs', query.maxDurationMs);
    const minNs = nonNegativeNanos('minNs', query.minNs);
    const maxNs = nonNegativeNanos('maxNs', query.maxNs);
    if (minMs !== undefined && minNs !== undefined)
      throw new BadRequestException('minNs: give minDurationMs or minNs, not both');
    if (maxMs !== undefined && maxNs !== undefined)
      throw new BadRequestException('maxNs: give maxDurationMs or maxNs, not both');
    const min = minMs ?? minNs;
    const max = maxMs ?? maxNs;
    if (min !== undefined && max !== undefined && max < min)
      throw new BadRequestException('maxDurationMs: must not be below the minimum duration');
    const cause = text('cause', query.cause);
    if (cause !== undefined && !([...CAUSES, 'unknown'] as string[]).includes(cause))
      throw new BadRequestException(
        `cause: expected one of ${[...CAUSES, 'unknown'].join(', ')}, got ${JSON.stringify(cause)}`,
      );
    const q = text('q', query.q);
    if (q !== undefined && q.length > 200) throw new BadRequestException('q: at most 200 characters');
    return this.reader.listRequests({
      captureId: uuid('capture', query.capture),
      service: text('service', query.service),
      route: text('route', query.route),
      minNs: min,
      maxNs: max,
      cause,
      q,
      sort: oneOf('sort', query.sort, REQUEST_SORTS, 'duration'),
      order: oneOf('order', query.order, SORT_ORDERS, 'desc'),
      limit: int('limit', query.limit, 1, MAX_LIMIT, 50),
      offset: int('offset', query.offset, 0, 1_000_000_000, 0),
    });
  }

  @Get('compare')
  @ApiOperation({
    summary: 'Compare two requests cause by cause (a − b), largest difference first',
    description:
      'a and b are trace ids; each resolves to the newest capture holding it unless capture is given.',
  })
  @ApiQuery({ name: 'a', required: true })
  @ApiQuery({ name: 'b', required: true })
  @ApiQuery({ name: 'capture', required: false })
  @ApiOkResponse({ description: '{ a: row, b: row, causes: [{ cause, aNs, bNs, deltaNs }] }' })
  async compare(
    @Query('a') a: unknown,
    @Query('b') b: unknown,
    @Query('capture') capture: unknown,
  ): Promise<CompareDto> {
    return this.replay.compare(requiredTraceId('a', a), requiredTraceId('b', b), uuid('capture', capture));
  }

  @Get('stats')
  @ApiOperation({
    summary: 'Routes with count, median, p95 and a duration histogram each; services and dominant causes',
    description:
      'Routes and histograms follow the capture, service, cause and q filters; the service and cause lists follow the capture only (for filter menus). Bucket bounds are ns strings, fromNs inclusive, toNs exclusive.',
  })
  @ApiQuery({ name: 'capture', required: false, description: 'capture uuid' })
  @ApiQuery({ name: 'service', required: false })
  @ApiQuery({ name: 'cause', required: false, enum: [...CAUSES, 'unknown'] })
  @ApiQuery({ name: 'q', required: false })
  @ApiQuery({ name: 'buckets', required: false, description: '2..100, default 20' })
  @ApiOkResponse({
    description:
      '{ total, routes: [{ service, route, count, minNs, medianNs, p95Ns, maxNs, histogram: [{ fromNs, toNs, count }] }], services: [{ service, count }], causes: [{ cause, count }] }',
  })
  async stats(@Query() query: Record<string, unknown>): Promise<RequestStatsDto> {
    const cause = text('cause', query.cause);
    if (cause !== undefined && !([...CAUSES, 'unknown'] as string[]).includes(cause))
      throw new BadRequestException(
        `cause: expected one of ${[...CAUSES, 'unknown'].join(', ')}, got ${JSON.stringify(cause)}`,
      );
    const q = text('q', query.q);
    if (q !== undefined && q.length > 200) throw new BadRequestException('q: at most 200 characters');
    return this.replay.requestStats(
      {
        captureId: uuid('capture', query.capture),
        service: text('service', query.service),
        cause,
        q,
      },
      int('buckets', query.buckets, 2, 100, 20),
    );
  }
}
